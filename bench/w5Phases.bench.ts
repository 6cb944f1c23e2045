// Where a W5 step goes (issue 21), phase by phase, each phase measured alone, interleaved in one
// process, on one kernel thread (or two: third argument 2): CPU ms per step (the process's user +
// system time, all threads) and wall ms per step, medians over rounds. W5: mlp 784–256–128–10
// (ReLU, He, seed 0), Adam 1e-3, MNIST batches of 128.
//
//   npx tsx --initial-old-space-size=64 bench/w5Phases.bench.ts [rounds=5] [steps=100] [threads=1]
//
// On two threads (`setKernelThreads(2)`) the wall figures are the ones to read: the helper's
// polling counts in CPU.
//
// Phases (a round runs each once, on `steps` batches of a fresh epoch, order rotated):
// - draw: the batches of a fresh `epochBatches` sampler (first epoch: every row drawn for the
//   first time, as in W5's one epoch; such a batch is left unread — its row indices only — and
//   its rows are read where the tape holds it, in the gradient call);
// - gradient call: `net.lossAndGradient` on those batches, parameters fixed (the tape: the
//   batch's rows compressed into wasm memory, products, copies in and out of wasm memory,
//   activations, softmax-cross-entropy);
// - Adam stage: `train` with `gradient(fn)` returning one fixed gradient (handed over as the
//   tape's is, so not copied), then `adam(1e-3)` (the optimizer's pass, its fresh arrays, the
//   stages and the loop; no network);
// - whole step: `train` with the real gradient and `adam(1e-3)` on those batches (what W5 runs,
//   its draw excepted). `whole − call − Adam` is what the phases cost more together than alone
//   (caches), or less.
// The two `train` phases time their steps after the first WARM of each run: a run's first steps
// pay one-time costs (compilation, and page faults while the heap grows: ~25 ms a step for the
// first ~6), which bench/RESULTS.md reports apart.
// The option keeps V8's full collections off (see README, tsx): without it, under tsx, the
// fresh arrays of each step start mark-compacts that a built run does not see. Asserts nothing.
import { last, lastValueFrom, pipe, tap } from 'rxjs'
import { loadavg } from 'node:os'
import { epochBatches, mlp, setKernelThreads, train, type Batch, type MlpParams } from 'gradstream'
import { closeWorkers, loadMnist } from 'gradstream/node'
import { adam, gradient, maxSteps } from 'gradstream/operators'
// internal: the mark the tape puts on the gradients it returns (the stage keeps them uncopied)
import { handOver } from '../src/tree/handOver.js'

const [rounds = 5, steps = 100, threads = 1] = process.argv.slice(2).map(Number)
setKernelThreads(threads === 2 ? 2 : 1)
const mnist = loadMnist({ oneHotLabel: true })
const net = mlp({ sizes: [784, 256, 128, 10], seed: 0 })
const cpu = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}
/** [CPU, wall] ms per step of `fn` (which runs `steps` steps, or returns its own figures) */
const timed = async (fn: () => unknown): Promise<[number, number]> => {
  const c0 = cpu()
  const w0 = performance.now()
  const own = await fn()
  if (Array.isArray(own)) return own as [number, number]
  return [(cpu() - c0) / steps, (performance.now() - w0) / steps]
}
const WARM = 20
const fixed = net.lossAndGradient(net.params, ...firstBatch())
/** `fixed` as the tape returns a result: fresh tensor objects, handed over */
const handed = () => {
  const grad: Record<string, MlpParams[string]> = {}
  for (const [k, t] of Object.entries(fixed.grad))
    grad[k] = handOver({ shape: t.shape, data: t.data })
  return { loss: fixed.loss, grad }
}
function firstBatch(): [Batch['x'], Batch['t']] {
  const b = epochBatches(mnist.train, { batchSize: 128, seed: 0 })[Symbol.iterator]().next()
  return [b.value.x, b.value.t]
}
/** CPU ms per step of a W5 `train` run on `batches`, its first WARM steps untimed */
const run = async (
  batches: Batch[],
  fg: (p: MlpParams, b: Batch) => { loss: number; grad: MlpParams },
) => {
  let c0 = 0
  let w0 = 0
  await lastValueFrom(
    train({ params: net.params, data: batches, step: pipe(gradient(fg), adam(1e-3)) }).pipe(
      tap((s) => {
        if (s.step === WARM) ((c0 = cpu()), (w0 = performance.now()))
      }),
      maxSteps(WARM + steps),
      last(),
    ),
  )
  return [(cpu() - c0) / steps, (performance.now() - w0) / steps]
}

let batches: Batch[] = []
let epoch = 0
const phases: Record<string, () => unknown> = {
  draw: () => {
    const c0 = cpu()
    const w0 = performance.now()
    batches = []
    for (const b of epochBatches(mnist.train, { batchSize: 128, seed: ++epoch })) {
      batches.push(b)
      if (batches.length === WARM + steps) break
    }
    return [(cpu() - c0) / batches.length, (performance.now() - w0) / batches.length]
  },
  'gradient call': () => {
    for (const b of batches.slice(WARM)) net.lossAndGradient(net.params, b.x, b.t)
  },
  'Adam stage': () => run(batches, handed),
  'whole step': () => run(batches, (p, b) => net.lossAndGradient(p, b.x, b.t)),
}
const names = Object.keys(phases)
const ms: Record<string, [number, number][]> = Object.fromEntries(names.map((n) => [n, []]))
await phases.draw()
for (const n of names.slice(1)) await timed(phases[n]) // warm-up
const load0 = loadavg()[0]
for (let r = 0; r < rounds; r++) {
  // a fresh epoch's batches first, then the others on them in a rotated order
  const order = names.slice(1)
  for (let k = 0; k < r % order.length; k++) order.push(order.shift()!)
  for (const n of ['draw', ...order]) ms[n].push(await timed(phases[n]))
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
for (const [w, what] of [
  [0, 'CPU'],
  [1, 'wall'],
] as const) {
  const m = Object.fromEntries(names.map((n) => [n, med(ms[n].map((x) => x[w]))]))
  console.log(
    `W5 phases, ${threads === 2 ? 'two kernel threads' : 'one kernel thread'}, ${what} ms per ` +
      `step (median of ${rounds} rounds × ${steps} steps), load ${load0.toFixed(1)} → ` +
      `${loadavg()[0].toFixed(1)}`,
  )
  for (const n of names) console.log(`  ${n.padEnd(14)} ${m[n].toFixed(3)}`)
  const apart = m['gradient call'] + m['Adam stage']
  console.log(`  whole − call − Adam ${(m['whole step'] - apart).toFixed(3)} (together vs apart)`)
  console.log(`  whole + draw   ${(m['whole step'] + m.draw).toFixed(3)} (a W5 step)`)
}
await closeWorkers()
