// W3 (the book's training through `train`, as bench/workloads.bench.ts's `w3`) with every step's
// period recorded: where a run's mean step goes beyond its median (warm-up, probes of the 'auto'
// thread chooser, collections, page faults) and what the final evaluation costs. Run by
// bench/w3Steps.ts (bundled, fresh node process per run).
import { openSync, readSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { last, lastValueFrom, pipe, tap } from 'rxjs'
import { randomBatches, setKernelThreads, train, twoLayerNet, type Tensor } from 'gradstream'
import { closeWorkers, loadMnist } from 'gradstream/node'
import { gradient, maxSteps, update } from 'gradstream/operators'
// internal: how many differentiated steps ran on two threads (the chooser's probes under 'auto';
// twoLayerNet's gradient is a recipe over the tape)
import { tapeStats } from '../src/parallel/tapeThreads.js'
// internal: batches prepared by the row-gathering worker or gathered by the step, and settles
import { prefetchStats } from '../src/parallel/rowPrefetch.js'
import { keptSums } from '../src/tensor/keptSums.js'

export interface W3StepsOptions {
  iters?: number
  threads?: 1 | 2 | 'auto'
  /** also count minor page faults step by step (one getrusage a step) */
  faults?: boolean
  /** also time each step by the process's CPU time (one getrusage a step: adds to each step) */
  cpuSteps?: boolean
  /** diagnostic (node --expose-gc): a young collection every this many steps */
  minorGcEvery?: number
  /**
   * also say what the time above the median went to (`causes`): each step's batch (prepared by
   * the worker or gathered by the step), settle, collections, and on Linux the main thread's
   * minor faults and run-queue wait (/proc/thread-self: two reads a step)
   */
  causes?: boolean
}

/**
 * The main thread's minor faults and microseconds waited for a core so far (Linux: its stat and
 * schedstat), or null where they cannot be read.
 */
function threadCounters(): (() => [number, number]) | null {
  try {
    const stat = openSync('/proc/thread-self/stat', 'r')
    const sched = openSync('/proc/thread-self/schedstat', 'r')
    const buf = Buffer.alloc(1024)
    return () => {
      let n = readSync(stat, buf, 0, 1024, 0)
      const t = buf.toString('latin1', 0, n)
      // fields after the command's closing parenthesis: state is the 3rd field, minflt the 10th
      const faults = Number(t.slice(t.lastIndexOf(')') + 2).split(' ')[7])
      n = readSync(sched, buf, 0, 1024, 0)
      const wait = Number(buf.toString('latin1', 0, n).split(' ')[1]) / 1000
      return [faults, wait]
    }
  } catch {
    return null
  }
}

/** What the steps' time above the median went to, in ms, each step's excess counted once. */
const CAUSES = [
  'first100', // the first 100 steps, whatever the cause
  'gc', // the part of a collection's pause inside the step
  'waited', // the main thread waited for a core (another thread or process ran)
  'unprepared', // the step gathered its batch (the worker had not taken it up or finished it)
  'settle', // keptSums copied W1 out (every SETTLE_EVERY-th sum)
  'faults', // 4 or more minor faults on the main thread
  'warmup', // none of these, steps 101-2000 (rows drawn for the first time, compilation)
  'rest', // none of these, later steps
] as const

const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

export async function w3steps({
  iters = 10_000,
  threads = 'auto',
  faults = false,
  cpuSteps = false,
  minorGcEvery = 0,
  causes = false,
}: W3StepsOptions) {
  const collect = (globalThis as { gc?: (o: object) => void }).gc
  if (threads !== 'auto') setKernelThreads(threads)
  const mnist = loadMnist({ oneHotLabel: true })
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
  type P = typeof net.params
  // train emits the initial state too: iters + 1 emissions
  const at = new Float64Array(iters + 2)
  const cpu = new Float64Array(iters + 2)
  const two = new Uint8Array(iters + 2)
  const pf = new Float64Array(iters + 2)
  // per step (causes): batches used from the worker, settles, main-thread faults and wait (µs)
  const counters = causes ? threadCounters() : null
  const used = new Int32Array(iters + 2)
  const posted = new Int32Array(iters + 2)
  const settled = new Int32Array(iters + 2)
  const tFaults = new Float64Array(iters + 2)
  const tWait = new Float64Array(iters + 2)
  const mark = (k: number) => {
    used[k] = prefetchStats.used
    posted[k] = prefetchStats.posted
    settled[k] = keptSums.settled
    if (counters !== null) [tFaults[k], tWait[k]] = counters()
  }
  const gcs: { start: number; ms: number; kind: number }[] = []
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.push({ start: e.startTime, ms: e.duration, kind: (e as any).detail?.kind ?? 0 })
    }
  })
  obs.observe({ entryTypes: ['gc'] })
  let i = 0
  let shared = tapeStats.steps
  const c0 = process.cpuUsage()
  const f0 = process.resourceUsage().minorPageFault
  // monotonic-clock marks (seconds) of the training's start, its 100th step and its end, to
  // line a profile recorded with `perf record -k CLOCK_MONOTONIC` up with the run
  const mono = () => Number(process.hrtime.bigint()) / 1e9
  const marks = [mono(), 0, 0]
  if (causes) mark(0)
  const t0 = performance.now()
  at[0] = t0
  cpu[0] = 0
  const final = await lastValueFrom(
    train({
      params: net.params,
      data: randomBatches(mnist.train, { batchSize: 100, seed: 0 }),
      step: pipe(
        gradient((p: P, b: { x: Tensor; t: Tensor }) => net.lossAndGradient(p, b.x, b.t)),
        update(0.1),
      ),
    }).pipe(
      maxSteps(iters),
      tap(() => {
        i++
        if (minorGcEvery > 0 && i % minorGcEvery === 0) collect!({ type: 'minor' })
        at[i] = performance.now()
        if (i === 100) marks[1] = mono()
        if (cpuSteps) {
          const c = process.cpuUsage(c0)
          cpu[i] = (c.user + c.system) / 1000
        }
        two[i] = tapeStats.steps !== shared ? 1 : 0
        shared = tapeStats.steps
        if (faults) pf[i] = process.resourceUsage().minorPageFault
        if (causes) mark(i)
      }),
      last(),
    ),
  )
  const t1 = performance.now()
  marks[2] = mono()
  const c1 = process.cpuUsage(c0)
  const f1 = process.resourceUsage().minorPageFault
  const e0 = performance.now()
  const ec0 = process.cpuUsage()
  const trainAcc = net.accuracy(final.params as P, mnist.train.x, mnist.train.t)
  const testAcc = net.accuracy(final.params as P, mnist.test.x, mnist.test.t)
  const ec1 = process.cpuUsage(ec0)
  const e1 = performance.now()
  await new Promise((r) => setTimeout(r, 10)) // the observer's last entries
  obs.disconnect()
  if (threads !== 'auto') setKernelThreads('auto')
  await closeWorkers()
  const n = i
  const d = new Float64Array(n)
  const dc = new Float64Array(n)
  for (let s = 1; s <= n; s++) d[s - 1] = at[s] - at[s - 1]
  for (let s = 1; s <= n; s++) dc[s - 1] = cpu[s] - cpu[s - 1]
  const sorted = d.slice().sort()
  const med = quantile(sorted, 0.5)
  // the same by the process's CPU time (all threads): robust to preemption on a shared machine
  const sortedC = dc.slice().sort()
  const medC = quantile(sortedC, 0.5)
  let aboveC = 0
  let twoC = 0
  let firstC = 0
  for (let s = 0; s < n; s++) {
    if (dc[s] > medC) aboveC += dc[s] - medC
    if (two[s + 1]) twoC += dc[s] - medC
    if (s < 100) firstC += dc[s] - medC
  }
  let gcStepC = 0
  for (let s = 0, g = 0, gl = gcs.filter((x) => x.start >= t0 && x.start <= t1); s < n; s++) {
    while (g < gl.length && gl[g].start + gl[g].ms < at[s]) g++
    if (g < gl.length && gl[g].start < at[s + 1] && dc[s] > medC) gcStepC += dc[s] - medC
  }
  let above = 0
  let slow = 0
  let twoSteps = 0
  let twoMs = 0
  let firstMs = 0
  for (let s = 0; s < n; s++) {
    if (d[s] > med) above += d[s] - med
    if (d[s] > 2 * med) slow++
    if (two[s + 1]) (twoSteps++, (twoMs += d[s] - med))
    if (s < 100) firstMs += d[s] - med
  }
  // steps that overlap a collection: their time above the median
  let gcStepMs = 0
  let gcMs = 0
  let gcScav = 0
  let gcFull = 0
  let gi = 0
  const inTrain = gcs.filter((g) => g.start >= t0 && g.start <= t1)
  for (const g of inTrain) {
    gcMs += g.ms
    if (g.kind === 1) gcScav++
    else gcFull++
  }
  for (let s = 0; s < n; s++) {
    const a = at[s]
    const b = at[s + 1]
    while (gi < inTrain.length && inTrain[gi].start + inTrain[gi].ms < a) gi++
    if (gi < inTrain.length && inTrain[gi].start < b && d[s] > med) gcStepMs += d[s] - med
  }
  // each step's excess over the median, peeled: the measured parts first (collections' pause in
  // the step, the wait for a core), then the rest to the first kind of step it is
  const cause = Object.fromEntries(CAUSES.map((c) => [c, 0])) as Record<
    (typeof CAUSES)[number],
    number
  >
  if (causes) {
    const pause = new Float64Array(n)
    for (let s = 0, g = 0; s < n; s++) {
      while (g < inTrain.length && inTrain[g].start + inTrain[g].ms < at[s]) g++
      for (let h = g; h < inTrain.length && inTrain[h].start < at[s + 1]; h++) {
        const a = Math.max(at[s], inTrain[h].start)
        pause[s] += Math.max(0, Math.min(at[s + 1], inTrain[h].start + inTrain[h].ms) - a)
      }
    }
    for (let s = 0; s < n; s++) {
      let e = d[s] - med
      if (e <= 0) continue
      if (s < 100) {
        cause.first100 += e
        continue
      }
      const take = (c: (typeof CAUSES)[number], ms: number) => {
        const x = Math.min(e, Math.max(0, ms))
        cause[c] += x
        e -= x
      }
      take('gc', pause[s])
      take('waited', (tWait[s + 1] - tWait[s]) / 1000)
      if (e <= 0) continue
      const c =
        posted[s + 1] > 0 && used[s + 1] === used[s]
          ? 'unprepared'
          : settled[s + 1] > settled[s]
            ? 'settle'
            : tFaults[s + 1] - tFaults[s] >= 4
              ? 'faults'
              : s < 2000
                ? 'warmup'
                : 'rest'
      cause[c] += e
    }
  }
  // the warm-up: steps 1–2000 against the median of the later ones (the run's own steady speed,
  // so that a slow or fast run's steady state does not move it)
  const later = d.slice(Math.min(2000, n)).sort()
  const medLater = later.length > 0 ? quantile(later, 0.5) : med
  let warmMs = 0
  for (let s = 0; s < Math.min(2000, n); s++) warmMs += d[s] - medLater
  let pfFirst = 0
  let pfRest = 0
  if (faults) {
    for (let s = 1; s <= n; s++) {
      const f = pf[s] - (s === 1 ? f0 : pf[s - 1])
      if (s <= 100) pfFirst += f
      else pfRest += f
    }
  }
  return {
    seconds: (e1 - t0) / 1000,
    trainSeconds: (t1 - t0) / 1000,
    trainCpu: (c1.user + c1.system) / 1e6,
    evalSeconds: (e1 - e0) / 1000,
    evalCpu: (ec1.user + ec1.system) / 1e6,
    units: n,
    loss: final.loss,
    trainAcc,
    testAcc,
    meanUs: (1000 * (t1 - t0)) / n,
    p50: 1000 * med,
    p90: 1000 * quantile(sorted, 0.9),
    p99: 1000 * quantile(sorted, 0.99),
    max: 1000 * sorted[n - 1],
    /** ms: Σ over steps of (step − median) where positive */
    aboveMs: above,
    slow2x: slow,
    /** ms above the median in the first 100 steps (may be negative) */
    first100Ms: firstMs,
    /** ms: Σ over steps 1–2000 of (step − the median of steps 2001 on) */
    warm2000Ms: warmMs,
    twoSteps,
    twoAboveMs: twoMs,
    gcScav,
    gcFull,
    gcMs,
    gcStepAboveMs: gcStepMs,
    faults: f1 - f0,
    pfFirst100: pfFirst,
    pfRest,
    cpuMeanUs: (1000 * cpu[n]) / n,
    cpuP50: 1000 * medC,
    cpuP90: 1000 * quantile(sortedC, 0.9),
    cpuP99: 1000 * quantile(sortedC, 0.99),
    cpuAboveMs: aboveC,
    cpuTwoAboveMs: twoC,
    cpuFirst100Ms: firstC,
    cpuGcStepAboveMs: gcStepC,
    /** ms above the median by cause (`causes`; see CAUSES) */
    ...Object.fromEntries(CAUSES.map((c) => [`cause_${c}`, cause[c]])),
    unprepared: causes ? posted[n] - posted[0] - (used[n] - used[0]) : 0,
    threadFaults: tFaults[n] - tFaults[0],
    monoStart: marks[0],
    mono100: marks[1],
    monoEnd: marks[2],
  }
}
