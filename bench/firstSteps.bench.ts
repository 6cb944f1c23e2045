// W5 or W3 (as bench/workloads.bench.ts runs them, one thread) with each step's CPU time and page
// faults recorded: what a run pays once, in its first steps, above its steady step. Run by
// bench/firstSteps.ts (bundled, a fresh node process per run).
import { readFileSync } from 'node:fs'
import { last, lastValueFrom, pipe, tap, type OperatorFunction } from 'rxjs'
import {
  accuracy,
  epochBatches,
  mlp,
  randomBatches,
  setKernelThreads,
  train,
  twoLayerNet,
  type Classifier,
  type Tensor,
} from 'gradstream'
import { closeWorkers, loadMnist } from 'gradstream/node'
import { adam, gradient, maxSteps, update } from 'gradstream/operators'

export interface FirstStepsOptions {
  job: 'w5' | 'w3'
  /** steps (default: W5's epoch, 469; W3's 10,000) */
  iters?: number
}

// the main thread's CPU time (ns), apart from V8's compiler and collector threads
const schedstat = `/proc/self/task/${process.pid}/schedstat`
const mainNs = () => Number(readFileSync(schedstat, 'utf8').split(' ')[0])
const processUs = () => {
  const c = process.cpuUsage()
  return c.user + c.system
}

/**
 * FIRST_STEPS_SETS=k (a diagnosis): during emissions ≤ k, every typed array's `set` and
 * WebAssembly.Memory's `grow` is wrapped to count the page faults it takes, by caller (stack).
 */
function traceSets(until: () => boolean) {
  const sites = new Map<string, { calls: number; faults: number; bytes: number }>()
  const pf = () => process.resourceUsage().minorPageFault
  const where = () =>
    (new Error().stack ?? '')
      .split('\n')
      .slice(3, 7)
      .map((l) =>
        l
          .trim()
          .replace(/^at /, '')
          .replace(/\(?file:\/\/\S+\/([^/]+:\d+):\d+\)?/, '$1'),
      )
      .join(' < ')
  const wrap = (proto: any, name: string, label: string) => {
    const orig = proto[name]
    proto[name] = function (this: any, ...a: any[]) {
      if (!until()) return orig.apply(this, a)
      const f = pf()
      const r = orig.apply(this, a)
      const d = pf() - f
      const key = `${label} ${where()}`
      const e = sites.get(key) ?? { calls: 0, faults: 0, bytes: 0 }
      e.calls++
      e.faults += d
      e.bytes += label === 'grow' ? a[0] * 65536 : (a[0]?.byteLength ?? 0)
      sites.set(key, e)
      return r
    }
  }
  wrap(Object.getPrototypeOf(Float64Array.prototype), 'set', 'set')
  wrap(WebAssembly.Memory.prototype, 'grow', 'grow')
  return () =>
    [...sites]
      .sort((a, b) => b[1].faults - a[1].faults)
      .slice(0, 25)
      .map(
        ([k, v]) =>
          `${String(v.faults).padStart(6)} faults ${String(v.calls).padStart(4)} calls ${(v.bytes / 1e6).toFixed(2)} MB  ${k}`,
      )
}

export async function firstSteps({ job, iters }: FirstStepsOptions) {
  const entered = performance.now() // ms since the process started
  const cpuEntered = processUs()
  setKernelThreads(1)
  const mnist = loadMnist({ oneHotLabel: true })
  const w5 = job === 'w5'
  const n = iters ?? (w5 ? Math.ceil(mnist.train.x.shape[0] / 128) : 10_000)
  // train emits the initial state first (entry 1 of these: its setup), then n steps' states
  const cpu = new Float64Array(n + 2) // process CPU µs after each emission
  const main = new Float64Array(n + 2) // main thread CPU ns
  const wall = new Float64Array(n + 2)
  const pf = new Float64Array(n + 2)
  let i = 0
  const traceUntil = Number(process.env.FIRST_STEPS_SETS ?? 0)
  const report = traceUntil > 0 ? traceSets(() => i < traceUntil) : null
  const mark = () => {
    wall[i] = performance.now()
    cpu[i] = processUs()
    main[i] = mainNs()
    pf[i] = process.resourceUsage().minorPageFault
  }
  // FIRST_STEPS_LOG=n: a line on stdout after each of the first n emissions, to place
  // diagnostics (node --trace-gc, strace) between steps
  const log = Number(process.env.FIRST_STEPS_LOG ?? 0)
  const record = tap(() => {
    i++
    mark()
    if (i <= log) {
      const mono = (Number(process.hrtime.bigint()) / 1e9).toFixed(6) // perf -k CLOCK_MONOTONIC
      console.log(`--- emission ${i} (${i === 1 ? 'initial state' : `step ${i - 1}`}) at ${mono}`)
    }
  })
  // W5 or W3 through the public API, as bench/workloads.bench.ts runs them (the net's
  // initialisation inside the setup's window, as before)
  mark()
  type P = Record<string, Tensor>
  type Net = Classifier<P> & {
    params: P
    lossAndGradient(p: P, x: Tensor, t: Tensor): { loss: number; grad: P }
  }
  const {
    net,
    data,
    optimizer,
  }: {
    net: Net
    data: Iterable<{ x: Tensor; t: Tensor }>
    optimizer: OperatorFunction<any, any>
  } = w5
    ? {
        net: mlp({ seed: 0, sizes: [784, 256, 128, 10] }) as unknown as Net,
        data: epochBatches(mnist.train, { batchSize: 128, seed: 0 }),
        optimizer: adam(0.001),
      }
    : {
        net: twoLayerNet({
          inputSize: 784,
          hiddenSize: 50,
          outputSize: 10,
          seed: 0,
        }) as unknown as Net,
        data: randomBatches(mnist.train, { batchSize: 100, seed: 0 }),
        optimizer: update(0.1),
      }
  const final = (await lastValueFrom(
    train({
      params: net.params,
      data,
      step: pipe(
        gradient((p: P, b: { x: Tensor; t: Tensor }) => net.lossAndGradient(p, b.x, b.t)),
        optimizer,
      ),
    }).pipe(maxSteps(n), record, last()),
  )) as { loss: number; params: unknown }
  const testAcc = accuracy(net, final.params as P, mnist.test.x, mnist.test.t)
  const done = performance.now()
  if (report) console.log(report().join('\n'))
  setKernelThreads('auto')
  await closeWorkers()
  const steps = i // emissions: the initial state's, then each step's
  const dCpu: number[] = [] // ms a step, process
  const dMain: number[] = [] // ms a step, main thread
  const dPf: number[] = []
  const dWall: number[] = []
  for (let s = 1; s <= steps; s++) {
    dCpu.push((cpu[s] - cpu[s - 1]) / 1000)
    dMain.push((main[s] - main[s - 1]) / 1e6)
    dPf.push(pf[s] - pf[s - 1])
    dWall.push(wall[s] - wall[s - 1])
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
  return {
    steps,
    loss: final.loss,
    testAcc,
    /** process start → this module's start, → training's start, → first step's state (ms) */
    enteredMs: entered,
    trainStartMs: wall[0],
    firstStepMs: wall[2],
    /** process CPU (ms) spent before the training started, and up to its first step's state */
    cpuBeforeTrainMs: cpu[0] / 1000,
    cpuToFirstStepMs: cpu[2] / 1000,
    cpuBeforeModuleMs: cpuEntered / 1000,
    trainWallMs: wall[steps] - wall[0],
    trainCpuMs: (cpu[steps] - cpu[0]) / 1000,
    trainFaults: pf[steps] - pf[0],
    evalMs: done - wall[steps],
    medCpu: med(dCpu),
    medMain: med(dMain),
    medWall: med(dWall),
    medPf: med(dPf),
    dCpu,
    dMain,
    dPf,
    dWall,
  }
}
