// The dashboards writers' cost on `npm start`'s training (the book's TwoLayerNet 784–50–10 on all
// 60,000 MNIST images, batch 100, SGD lr 0.1, chunks of 25 steps on the async scheduler):
// the same run without a writer, with `toTensorBoard` (scalars: loss, lr, gradNorm, the
// accuracies), with `toTensorBoard({ histogramsEvery: 100 })` and with `toCsv`, interleaved in
// one process (the order rotates every repetition): each variant's training time (the run less
// its accuracy measurements), wall-clock and CPU time of this process (`process.cpuUsage`: on a
// shared machine other processes inflate wall time, much less this process's CPU time), and the
// CPU time spent inside the writer's operator itself (its share of the training's CPU time is
// the writer's cost; the end-to-end ratios show it too but carry the machine's noise).
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

const args = process.argv.slice(2)
const option = (name: string, d: number) =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d
const steps = option('--steps', 1000)
const reps = option('--reps', 5)
const dir = mkdtempSync(join(tmpdir(), 'gradstream-dashboards-bench-'))
const data = loadMnist({ normalize: true, oneHotLabel: true })

type Writer = () => MonoTypeOperatorFunction<TrainState> | null
let k = 0
const variants: Record<string, Writer> = {
  none: () => null,
  tensorboard: () => toTensorBoard(join(dir, `tb${k++}`)),
  'tensorboard+histograms/100': () =>
    toTensorBoard(join(dir, `tb${k++}`), { histogramsEvery: 100 }),
  csv: () => toCsv(join(dir, `run${k++}.csv`)),
}
const names = Object.keys(variants)
const results: Record<string, { trainMs: number[]; cpuMs: number[]; inWriterMs: number[] }> =
  Object.fromEntries(names.map((n) => [n, { trainMs: [], cpuMs: [], inWriterMs: [] }]))
/** CPU time of this process so far, ms (user + system, every thread) */
const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function once(name: string) {
  const t = mnistTraining({ ...BOOK_DEFAULTS, iters: steps, evalEvery: 500 }, { data })
  const writer = variants[name]()
  let entered = 0
  let inWriter = 0
  const run$ = writer
    ? t.run$.pipe(
        tap(() => (entered = cpu())),
        writer,
        tap(() => (inWriter += cpu() - entered)),
      )
    : t.run$
  const t0 = performance.now()
  const c0 = cpu()
  await lastValueFrom(run$)
  const total = performance.now() - t0
  // evaluation is single-threaded work on this thread: its wall time is its CPU time, near enough
  results[name].trainMs.push(total - t.evaluationMs())
  results[name].cpuMs.push(cpu() - c0 - t.evaluationMs())
  results[name].inWriterMs.push(inWriter)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const load0 = loadavg()
await once('none') // warm-up: JIT, caches
for (let r = 0; r < reps; r++) {
  for (let i = 0; i < names.length; i++) await once(names[(r + i) % names.length])
}
const load1 = loadavg()
rmSync(dir, { recursive: true, force: true })

const base = median(results.none.trainMs)
const baseCpu = median(results.none.cpuMs)
console.log(
  `dashboards writers on npm start's training: ${steps} steps (eval every 500), ${reps} interleaved repetitions, medians`,
)
console.log(
  `load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${load1.map((x) => x.toFixed(2)).join(' ')} (2 cores, shared)`,
)
console.log(
  '| writer | training, wall ms | vs none | training, CPU ms | vs none | inside the writer, CPU ms | writer share of training CPU |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
for (const n of names) {
  const ms = median(results[n].trainMs)
  const c = median(results[n].cpuMs)
  const w = median(results[n].inWriterMs)
  console.log(
    `| ${n} | ${ms.toFixed(0)} | ${pct(ms / base - 1)} | ${c.toFixed(0)} | ${pct(c / baseCpu - 1)} | ${w.toFixed(1)} | ${((w / baseCpu) * 100).toFixed(2)}% |`,
  )
}
for (const n of names) {
  console.log(
    `${n}: wall [${results[n].trainMs.map((x) => x.toFixed(0)).join(', ')}], cpu [${results[n].cpuMs.map((x) => x.toFixed(0)).join(', ')}], in writer [${results[n].inWriterMs.map((x) => x.toFixed(1)).join(', ')}]`,
  )
}
