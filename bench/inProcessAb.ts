// A/B of two source trees in ONE node process, blocks interleaved: for changes of a few percent
// that whole-run A/Bs (fresh processes: w3Steps.ts, w5Ab.ts, tsxVsBuilt.ts) cannot resolve on a
// shared machine, whose load moves a run by more than that.
//
//   npx tsx bench/inProcessAb.ts [--trees A,B] [--workload w3grad|w3step|w5step] [--blocks 40]
//     [--reps 1] [--threads 1|2|auto] [--block N] [--warm N] [--node-flags '…']
//     [--tsx-like | --tsx-like-b] [--no-settle]
//
// Each tree's bench/inProcessAbWork.ts (this checkout's, gradstream aliased to the tree's
// sources) is bundled with esbuild as bench/bundle.ts bundles (built code, as users run it), and
// both bundles are loaded in one node process (one --reps: one process, run one after another).
// --tsx-like: bundled with the transform options tsx runs TypeScript with (bundle.ts'
// TSX_TRANSFORM: keepNames names each closure bound to a name as it is made), for what a change
// does to a tsx user's step; one bundle still, not tsx's separate modules. --tsx-like-b: B's
// bundle only (with --trees A,A: what the transform itself costs a step).
// After a warm-up (`--warm` calls or steps each, alternating), `--blocks` blocks each run
// `--block` calls or steps of A then of B, or of B then A (alternating), and give one ratio
// B/A of their wall times; the per-block ratios' median, quartiles, a 95% interval of the median
// (order statistics), and in how many blocks B was faster are printed per process and pooled,
// and the ratio of all blocks' time (what counts for a change of the warm-up: `--warm 0`).
// Also: the process's CPU time per call (all threads, both trees'), the collections' pauses,
// mark-compacts and scavenges within each tree's blocks, and the same-bits check
// (bench/inProcessAbWork.ts `check`): a tree pair that computes different numbers is flagged.
// `--trees A,A` (the default: this checkout twice) is the A/A run that gives the tool's own spread.
// Two balances (issue 21, session 21; before them a w5step A/A read ~+3-4% and B made ~10% more
// mark-compacts):
// - Mirrored processes: the side that takes a process's first step runs the rest of it a few
//   percent faster, its main thread and its kernels' helper both (w5step, two threads; which side
//   is set up first does not matter). So every other process is the mirror image (B set up
//   first, B's first step first, blocks B A, A B, …): use an even --reps.
// - Settling (off: --no-settle): a full collection, untimed, before the first block and after
//   each, so that each block starts on a collected heap and pays only for its own garbage. A
//   mark-compact lands in the block running when it ends, ~20-30 ms after its marking started
//   (--trace-gc), often in the other side's block. The settling collection's time is printed per
//   side, and a B/A with it added to the block it follows (whose garbage it mostly collects).
//
// Workloads (public API only):
// - w3grad: `twoLayerNet` 784–50–10's `lossAndGradient` on 256 batches of 100 drawn once (the
//   default; blocks of 400 calls, warm-up 3,000);
// - w3step: W3's step through `train` (the sampler's draw, the gradient, `update(0.1)`), paused
//   between blocks with `pausable` (blocks of 400 steps, warm-up 4,000: past the rows' first draws);
// - w5step: W5's (mlp 784–256–128–10, `adam(0.001)`, `epochBatches` of 128) the same way (blocks
//   of 30 steps, warm-up 470: one epoch).
// --threads (default 1) is `setKernelThreads` in both trees. Both trees have their own workers in
// the process (the row-prefetch worker, the kernels' helper): the resting tree's sleep (the
// helper after a short spin, the prefetch worker after polling 50 ms), on both sides alike.
// 'auto' is refused for w5step: its chooser times a step from its start to the next step's, so
// the other tree's block counts as one long step (its watch then starts a probe); it is fair only
// while the chooser times nothing: W3's step, below `autoTuning.minSize`, never probes, so 'auto'
// there is one kernel thread plus the prefetch worker. What the blocks do not see: a fresh
// process's one-time costs (its start, the helper's start, its first page faults; the rows'
// first draws only with `--warm 0`) and what depends on the heap, which the two trees share (how
// often full collections come: one tree's external memory brings the other's on); for those
// use the whole-run tools in fresh processes.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleEntry, bundleWorkers } from './bundle.js'

const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const here = dirname(fileURLToPath(import.meta.url))
const trees = (option('--trees') ?? `${join(here, '..')},${join(here, '..')}`)
  .split(',')
  .map((t) => resolve(t))
const workload = option('--workload') ?? 'w3grad'
const defaults = { w3grad: [400, 3000], w3step: [400, 4000], w5step: [30, 470] }[workload]
if (trees.length !== 2 || defaults === undefined) {
  throw new Error('usage: npx tsx bench/inProcessAb.ts --trees A,B --workload w3grad|w3step|w5step')
}
const threads = option('--threads') ?? '1'
if (threads === 'auto' && workload === 'w5step') {
  throw new Error(
    "--threads auto: W5's chooser would time the other tree's blocks (see the header)",
  )
}
const blocks = Number(option('--blocks') ?? 40)
const reps = Number(option('--reps') ?? 1)
const block = Number(option('--block') ?? defaults[0])
const warm = Number(option('--warm') ?? defaults[1])
const nodeFlags = (option('--node-flags') ?? '').split(' ').filter(Boolean)
const tsxLike = args.includes('--tsx-like')
const tsxLikeB = args.includes('--tsx-like-b')
const settle = !args.includes('--no-settle')

// all output in this checkout's bench/out/ (the trees are only read)
const out = join(here, 'out', 'ipab', String(process.pid))
const files: string[] = []
for (const [i, tree] of trees.entries()) {
  // a directory per side, so that A/A loads two module instances
  const dir = join(out, `${'ab'[i]}`)
  mkdirSync(dir, { recursive: true })
  await bundleWorkers(tree, dir, 'silent')
  const contents = `export { setup } from ${JSON.stringify(join(here, 'inProcessAbWork.ts'))}`
  const outfile = join(dir, 'side.mjs')
  await bundleEntry(
    tree,
    {
      contents,
      resolveDir: join(tree, 'bench'),
      outfile,
      tsxLike: tsxLike || (tsxLikeB && i === 1),
    },
    'silent',
  )
  files.push(outfile)
}

// the process: warm-up, then the blocks; prints one RESULT line
const driver = `import { PerformanceObserver } from 'node:perf_hooks'
const [files, workload, threads, blocks, block, warm, bFirst, settle] = JSON.parse(process.argv[2])
// every other process is the mirror image of the one before: B set up first, B's first step
// first, and the blocks' order B A, A B, …: the side that takes the process's first step runs
// faster to its end (see the header), so each side is that side in half the processes
const order = (k) => ((k + bFirst) % 2 ? [1, 0] : [0, 1])
const sides = []
for (const i of order(0)) {
  sides[i] = (await import(files[i])).setup(workload, threads === 'auto' ? 'auto' : Number(threads))
}
for (let k = 0; k < 4; k++) for (const i of order(k)) sides[i].run(Math.ceil(warm / 4))
const gcs = []
const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push([e.startTime, e.duration, e.detail?.kind ?? 0]) })
obs.observe({ entryTypes: ['gc'] })
// settle: a full collection (untimed) before the first block and after each block, so that every
// block starts on a collected heap and pays for its own garbage only, not for the other side's
const forced = [[], []]
if (settle) globalThis.gc()
const us = [[], []], cpu = [[], []], spans = [[], []]
for (let r = 0; r < blocks; r++) {
  for (const i of order(r)) {
    const c0 = process.cpuUsage(), t0 = performance.now()
    us[i].push(sides[i].run(block))
    const c = process.cpuUsage(c0)
    const t1 = performance.now()
    spans[i].push([t0, t1])
    cpu[i].push((c.user + c.system) / block)
    if (settle) {
      globalThis.gc()
      forced[i].push(performance.now() - t1)
    }
  }
}
await new Promise((r) => setTimeout(r, 10))
obs.disconnect()
// collections that started in each side's blocks: pause ms, mark-compacts (kind 4), scavenges (1)
const gc = spans.map((ss) => {
  const mine = gcs.filter(([t]) => ss.some(([a, b]) => t >= a && t < b))
  return [mine.reduce((s, g) => s + g[1], 0), mine.filter((g) => g[2] === 4).length, mine.filter((g) => g[2] === 1).length]
})
console.log('RESULT ' + JSON.stringify({ us, cpu, gc, forced, checks: sides.map((s) => s.check()) }))
process.exit(0)
`
const driverFile = join(out, 'driver.mjs')
writeFileSync(driverFile, driver)

const sorted = (v: number[]) => [...v].sort((p, q) => p - q)
const sum = (v: number[]) => v.reduce((p, q) => p + q, 0)
const at = (v: number[], f: number) => sorted(v)[Math.min(v.length - 1, Math.floor(v.length * f))]
/** median, quartiles and a 95% interval of the median (binomial order statistics) */
function summary(ratios: number[]): string {
  const s = sorted(ratios)
  const n = s.length
  const h = 0.98 * Math.sqrt(n)
  const lo = s[Math.max(0, Math.floor(n / 2 - h))]
  const hi = s[Math.min(n - 1, Math.ceil(n / 2 + h))]
  const f3 = (x: number) => x.toFixed(3)
  return (
    `B/A median ${f3(at(s, 0.5))} (95% ${f3(lo)}–${f3(hi)}), quartiles ${f3(at(s, 0.25))}–` +
    `${f3(at(s, 0.75))}, B faster in ${s.filter((x) => x < 1).length} of ${n}`
  )
}

console.log(
  `in-process A/B, ${workload}, threads ${threads}, ${blocks} blocks of ${block} × ${reps} ` +
    `process(es), warm-up ${warm}${settle ? '' : ', not settled'}\n  A = ${trees[0]}\n  B = ${trees[1]}`,
)
if (reps % 2 === 1) console.log('  (odd --reps: the first step falls to A once more than to B)')
const pooled: number[] = []
const medians: number[] = []
const pooledCpu: number[] = []
const pooledWithGc: number[] = []
let same = true
for (let rep = 0; rep < reps; rep++) {
  const load = loadavg()[0].toFixed(2)
  const text = execFileSync(
    'node',
    [
      ...nodeFlags,
      ...(settle ? ['--expose-gc'] : []),
      driverFile,
      JSON.stringify([files, workload, threads, blocks, block, warm, rep % 2, settle]),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  )
  const line = text.split('\n').find((l) => l.startsWith('RESULT '))
  if (line === undefined) throw new Error(`no RESULT:\n${text}`)
  const r = JSON.parse(line.slice(7)) as {
    us: number[][]
    cpu: number[][]
    gc: number[][]
    forced: number[][]
    checks: string[]
  }
  const ratios = r.us[1].map((b, k) => b / r.us[0][k])
  // a block's time with the settling collection after it (which collects mostly its garbage)
  const ms = (i: number, k: number) => (r.us[i][k] * block) / 1000 + (r.forced[i][k] ?? 0)
  const withGc = r.us[1].map((_, k) => ms(1, k) / ms(0, k))
  pooledWithGc.push(...withGc)
  const cpuRatios = r.cpu[1].map((b, k) => b / r.cpu[0][k])
  pooled.push(...ratios)
  medians.push(at(ratios, 0.5))
  pooledCpu.push(...cpuRatios)
  const agree = r.checks[0] === r.checks[1]
  same &&= agree
  console.log(
    `${new Date().toISOString().slice(11, 19)} load ${load} → ${loadavg()[0].toFixed(2)}` +
      `${rep % 2 ? ' (B first)' : ''}: ` +
      `A ${at(r.us[0], 0.5).toFixed(1)} B ${at(r.us[1], 0.5).toFixed(1)} µs (block medians); ` +
      `${summary(ratios)}; all blocks' time B/A ${(sum(r.us[1]) / sum(r.us[0])).toFixed(3)}; ` +
      `CPU B/A ${at(cpuRatios, 0.5).toFixed(3)}; gc in blocks ` +
      ['A', 'B']
        .map((s, i) => {
          const [pause, full, young] = r.gc[i]
          const after = settle ? `, settling ${sum(r.forced[i]).toFixed(0)} ms after` : ''
          return `${s} ${pause.toFixed(0)} ms (${full} full, ${young} young${after})`
        })
        .join(' ') +
      (settle ? `; with the settling B/A median ${at(withGc, 0.5).toFixed(3)}` : '') +
      `\n    same bits: ${agree ? 'yes' : 'NO'} (A ${r.checks[0]}; B ${r.checks[1]})`,
  )
}
if (reps > 1) {
  console.log(
    `pooled ${pooled.length} blocks: ${summary(pooled)}; CPU B/A ${at(pooledCpu, 0.5).toFixed(3)}` +
      (settle ? `; with the settling: ${summary(pooledWithGc)}` : '') +
      `; the processes' medians ${sorted(medians)
        .map((m) => m.toFixed(3))
        .join(' ')}`,
  )
}
if (!same) console.log('THE TREES COMPUTE DIFFERENT NUMBERS: the timings compare different work')
