// The dashboards writers' cost on `npm start`'s training (the book's TwoLayerNet 784–50–10 on all
// 60,000 MNIST images, batch 100, SGD lr 0.1, chunks of 25 steps on the async scheduler):
//
// 1. end to end, interleaved in one process (the order rotates every repetition): the same run
//    without a writer, with `toTensorBoard` (scalars loss, lr, gradNorm and the accuracies), with
//    `toTensorBoard({ gradNorm: false })`, with `toTensorBoard({ histogramsEvery: 100 })` and
//    with `toCsv`; wall-clock and CPU time of this process (`process.cpuUsage`) from the emission
//    of step 1 to that of the last step but one, so neither accuracy measurement (step 0 and the
//    last) is counted;
// 2. inside the writer, in the same live runs: the wall time from a state entering the writer's
//    operator to its leaving it, per state, against the time between two states of the run
//    without a writer (one step), as medians: on a shared machine a short interval now and then
//    waits ~20 ms for another process, which sums and means would count, medians do not. Steps
//    that write a histogram are reported apart (one in 100); the buffer's write to disk (every
//    2 s) falls on one state in hundreds. Also as 10th percentiles: the least disturbed tenth of
//    each, nearer what an idle machine shows (both sides alike).
//
// 3. the part of the writers' cost paid inside the step: while a writer of gradNorm runs, the
//    kernels sum each gradient at its copy-out (sumOfSquaresKernel.ts's noteCopiedOut;
//    timed alone here for ∂W1's 39,200 values, freshly written, as the kernel finds them),
//    beside the two ways the writer would read them itself (copied into wasm and summed there,
//    the JavaScript loop). The writer's cost with gradNorm is 2. plus this.
//
//   npx tsx bench/dashboards.bench.ts                 1,000 steps, 5 repetitions
//   npx tsx bench/dashboards.bench.ts --steps 2000 --reps 7
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { lastValueFrom, tap, type MonoTypeOperatorFunction } from 'rxjs'
import { loadMnist, toCsv, toTensorBoard } from 'gradstream/node'
import type { TrainState } from 'gradstream'
import { BOOK_DEFAULTS, mnistTraining } from '../src/cli/trainMnist.js'
import { autoThreads } from '../src/parallel/autoThreads.js'
import {
  noteCopiedOut,
  sumOfSquares,
  sumOfSquaresJs,
  wantSumsOfSquares,
} from '../src/tensor/kernels/sumOfSquaresKernel.js'

const args = process.argv.slice(2)
const option = (name: string, d: number) =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d
const steps = option('--steps', 1000)
const reps = option('--reps', 5)
const dir = mkdtempSync(join(tmpdir(), 'gradstream-dashboards-bench-'))
const data = loadMnist({ normalize: true, oneHotLabel: true })

let k = 0
const variants: Record<string, () => MonoTypeOperatorFunction<TrainState> | null> = {
  none: () => null,
  tensorboard: () => toTensorBoard(join(dir, `tb${k++}`)),
  'tensorboard, gradNorm: false': () => toTensorBoard(join(dir, `tb${k++}`), { gradNorm: false }),
  'tensorboard + histograms every 100': () =>
    toTensorBoard(join(dir, `tb${k++}`), { histogramsEvery: 100 }),
  csv: () => toCsv(join(dir, `run${k++}.csv`)),
}
const names = Object.keys(variants)
const runs: Record<
  string,
  { wall: number[]; cpu: number[]; inside: number[][]; gaps: number[][] }
> = Object.fromEntries(names.map((n) => [n, { wall: [], cpu: [], inside: [], gaps: [] }]))
/** CPU time of this process so far, ms (user + system, every thread) */
const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** One run, timed (see the header). */
async function once(name: string): Promise<void> {
  // accuracy only at step 0 and on the last state: the timed window holds training alone
  const t = mnistTraining({ ...BOOK_DEFAULTS, iters: steps, evalEvery: steps }, { data })
  const writer = variants[name]()
  const inside = new Array<number>(steps + 1).fill(NaN)
  const gaps = new Array<number>(steps + 1).fill(NaN)
  let wall0 = 0
  let cpu0 = 0
  let entered = 0
  let left = 0
  const enter = tap((s: TrainState) => {
    entered = performance.now()
    if (s.step >= 2) gaps[s.step] = entered - left // one step, without the writer's own time
  })
  const leave = tap((s: TrainState) => {
    left = performance.now()
    inside[s.step] = left - entered
    if (s.step === 1) ((wall0 = performance.now()), (cpu0 = cpu()))
    if (s.step === steps - 1) {
      runs[name].wall.push(performance.now() - wall0)
      runs[name].cpu.push(cpu() - cpu0)
    }
  })
  await lastValueFrom(writer ? t.run$.pipe(enter, writer, leave) : t.run$.pipe(enter, leave))
  runs[name].inside.push(inside.slice(2, steps - 1))
  runs[name].gaps.push(gaps.slice(2, steps - 1))
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]
const median = (xs: number[]) => quantile(xs, 0.5)
const load0 = loadavg()
await once('none') // warm-up: JIT, caches
for (const n of names)
  runs[n].wall.length = runs[n].cpu.length = runs[n].inside.length = runs[n].gaps.length = 0
for (let r = 0; r < reps; r++) {
  for (let i = 0; i < names.length; i++) await once(names[(r + i) % names.length])
}
const threads = autoThreads()

/** 3.: µs per call of each way to take Σx² of ∂W1 (39,200 values written just before). */
function copyOutSums(calls: number): Record<string, number[]> {
  const n = 784 * 50
  const memory = new WebAssembly.Memory({ initial: 8 })
  const mem = new Float64Array(memory.buffer)
  const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3)
  const out: Record<string, number[]> = { 'at copy-out': [], 'copied into wasm': [], 'JS loop': [] }
  const release = wantSumsOfSquares()
  let sink = 0
  for (let c = 0; c < calls; c++) {
    values[c % n] += 1e-9 // new values each time, written just before, as a kernel writes them
    mem.set(values, 8192)
    const dst = values.slice() // the copy-out itself (not timed: the kernel does it anyway)
    let t = performance.now()
    noteCopiedOut(memory, [dst, 65536])
    out['at copy-out'].push(performance.now() - t)
    const fresh = values.slice()
    t = performance.now()
    sink += sumOfSquares(fresh)
    out['copied into wasm'].push(performance.now() - t)
    t = performance.now()
    sink += sumOfSquaresJs(fresh)
    out['JS loop'].push(performance.now() - t)
  }
  release()
  if (Number.isNaN(sink)) console.log(sink)
  return out
}
const sums = copyOutSums(reps * 400)
const load1 = loadavg()
rmSync(dir, { recursive: true, force: true })

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ')
console.log(
  `dashboards writers on npm start's training, ${steps} steps, ${reps} interleaved repetitions, medians; load average ${loads(load0)} → ${loads(load1)} (2 cores, shared)`,
)
console.log('')
console.log(`end to end (steps 2…${steps - 1} of each run):`)
console.log('| writer | wall ms | vs none | CPU ms | vs none |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const n of names) {
  const w = median(runs[n].wall)
  const c = median(runs[n].cpu)
  console.log(
    `| ${n} | ${w.toFixed(0)} | ${pct(w / median(runs.none.wall) - 1)} | ${c.toFixed(0)} | ${pct(c / median(runs.none.cpu) - 1)} |`,
  )
}
const histogramStep = (i: number) => (i + 2) % 100 === 0 // inside[] starts at step 2
for (const [what, q] of [
  ['median', 0.5],
  ['10th percentile', 0.1],
] as const) {
  const step = quantile(runs.none.gaps.flat(), q)
  console.log('')
  console.log(
    `inside the writer, per state, against one step without a writer (${what}s; a step ${(step * 1000).toFixed(0)} µs):`,
  )
  console.log(
    '| writer | µs per state | share of a step | histogram steps, µs | with histograms amortised over 100 steps |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const n of names.slice(1)) {
    const plain = runs[n].inside.flatMap((xs) => xs.filter((_, i) => !histogramStep(i)))
    const h = runs[n].inside.flatMap((xs) => xs.filter((_, i) => histogramStep(i)))
    const w = quantile(plain, q)
    const hist = n.includes('histograms') ? quantile(h, q) : NaN
    const amortised = Number.isNaN(hist) ? w : w + (hist - w) / 100
    console.log(
      `| ${n} | ${(w * 1000).toFixed(1)} | ${((w / step) * 100).toFixed(2)}% | ${Number.isNaN(hist) ? '—' : (hist * 1000).toFixed(0)} | ${((amortised / step) * 100).toFixed(2)}% |`,
    )
  }
}
const stepOf = (q: number) => quantile(runs.none.gaps.flat(), q)
console.log('')
console.log(
  `the step's share (3.): Σ∂W1² of 39,200 fresh values, µs per call (median / 10th percentile; ${reps * 400} calls), and as a share of a step (median / p10):`,
)
console.log('| way | µs (median / p10) | share of a step |')
console.log('| --- | ---: | ---: |')
for (const [way, xs] of Object.entries(sums)) {
  const m = quantile(xs, 0.5)
  const p = quantile(xs, 0.1)
  console.log(
    `| ${way} | ${(m * 1000).toFixed(1)} / ${(p * 1000).toFixed(1)} | ${((m / stepOf(0.5)) * 100).toFixed(2)}% / ${((p / stepOf(0.1)) * 100).toFixed(2)}% |`,
  )
}
console.log('')
console.log(
  `the step without the writer's own time, per variant (medians; the copy-out sum is in it when gradNorm is written), kernel threads at the end: ${threads}`,
)
for (const n of names) console.log(`${n}: ${(median(runs[n].gaps.flat()) * 1000).toFixed(0)} µs`)
console.log('')
for (const n of names) {
  console.log(
    `${n}: wall [${runs[n].wall.map((x) => x.toFixed(0)).join(', ')}], cpu [${runs[n].cpu.map((x) => x.toFixed(0)).join(', ')}]`,
  )
}
