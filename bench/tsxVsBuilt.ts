// Issue 21 (tsx): W3's training (workloads.bench.ts `w3`, one kernel thread) built and under
// tsx, with and without node's --initial-old-space-size=64, interleaved: each rep runs every
// contender once in a fresh node process under --trace-gc, in a rotated order, and prints the
// training's CPU seconds (process.cpuUsage around the loop), its wall seconds, the full
// (Mark-Compact) collections of the whole process, why each began (V8's incremental-marking start
// reason: `limit` = the old generation's allocation limit, `ext` = external memory pressure,
// `task`), the young collections started by external memory (V8 11.3 scavenges once the young
// ArrayBuffers hold 32 MB: a W3 step's two fresh 313 KB arrays, every ~51 steps), the old
// generation at the end, the process's minor page faults (the data's loading included) and the
// load.
//
//   npx tsx bench/tsxVsBuilt.ts [--reps 4] [--iters 1000] [--only built,tsx,...]
//     [--trees /work/wt/base,/work/wt/branch] [--threads 1|2|auto] [--workload w3|w5]
//
// --threads: the kernel threads (`setKernelThreads`); W3's default 1, W5's 'auto' (the default
// setting, under which W3's next batch is gathered on the helper thread).
// --workload w5: W5 (workloads.bench.ts `w5`, one epoch; --iters is ignored) in place of W3.
// Full collections and their pauses are also counted within the training alone (`in training`:
// by trace-gc's time stamps, the isolate's clock, between the training's first and last
// process.cpuUsage(), performance.now()'s: the two clocks start within milliseconds).

//
// --trees: each contender once per tree in every rep (A's then B's, the contenders' order
// rotated), each tree's own sources and bench files; prints B/A per contender beside the rest.
//
// Contenders:
//   built       node bench/out/tsxVsBuilt/w3.mjs (bundled as bench/run.ts bundles it)
//   ballast     the same with 3 MB of plain objects retained first (node --import): a bigger
//               old generation without tsx, the cause of the tsx penalty on its own
//   importTsx   the built bundle under `node --import tsx` (tsx's loader, nothing transformed)
//   tsx         the TypeScript sources run by tsx (`node --import tsx`, as `npx tsx` runs them)
//   tsxFlag     tsx with --initial-old-space-size=64
//   builtFlag   built with --initial-old-space-size=64
//   tsxSweep    tsx with --no-concurrent-array-buffer-sweeping: a scavenge frees its dead
//               ArrayBuffers before V8 checks the old generation's limit (a diagnosis: V8 11.3
//               counts external memory allocated since the last full collection against that
//               limit, and the concurrent sweep subtracts the dead buffers only after the check)
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { bundleEntry, bundleWorkers } from './bundle.js'

const here = import.meta.dirname
const root = join(here, '..')
const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const reps = Number(option('--reps') ?? 4)
const iters = Number(option('--iters') ?? 1000)
const trees = option('--trees')?.split(',') ?? [root]

const workload = option('--workload') === 'w5' ? 'w5' : 'w3'
// the training's window in the isolate's time (trace-gc's `N ms:`): timedTraining reads
// process.cpuUsage() as it starts and again (with the start as argument) as it ends
const entry = (file: string) => `import { ${workload} } from ${JSON.stringify(file)}
import v8 from 'node:v8'
const cpuUsage = process.cpuUsage
const marks = []
process.cpuUsage = (prev) => (marks.push(performance.now()), cpuUsage(prev))
const r = await ${workload}(JSON.parse(process.argv.at(-1)))
const old = v8.getHeapSpaceStatistics().filter((s) => !s.space_name.startsWith('new'))
console.log('RESULT ' + JSON.stringify({ ...r, window: [marks[0], marks.at(-1)], oldMB: old.reduce((a, s) => a + s.space_used_size, 0) / 2 ** 20, faults: process.resourceUsage().minorPageFault }))
`
const threadOption = option('--threads') ?? (workload === 'w5' ? 'auto' : '1')
const threads = threadOption === 'auto' ? 'auto' : Number(threadOption)
const opts = JSON.stringify(workload === 'w5' ? { threads } : { iters, threads })
const flag = '--initial-old-space-size=64'
/** Each contender's node arguments for `tree` (its bundle and entry built here). */
async function contendersOf(tree: string): Promise<Record<string, string[]>> {
  const bench = join(tree, 'bench')
  const out = join(bench, 'out', 'tsxVsBuilt')
  mkdirSync(out, { recursive: true })
  await bundleEntry(tree, {
    contents: entry('./workloads.bench.ts'),
    resolveDir: bench,
    outfile: join(out, 'w3.mjs'),
  })
  await bundleWorkers(tree, out)
  // the TypeScript entry tsx runs (beside workloads.bench.ts, so its imports resolve as there)
  const tsEntry = join(bench, 'out', 'tsxVsBuilt.entry.ts')
  writeFileSync(tsEntry, entry('../workloads.bench.ts'))
  const ballast = join(out, 'ballast.mjs')
  writeFileSync(
    ballast,
    `globalThis.ballast = Array.from({ length: 3 * 2 ** 20 / 64 }, (_, i) => ({ i, j: i + 0.5, k: null }))\n`,
  )
  const built = join(out, 'w3.mjs')
  return {
    built: [built],
    ballast: ['--import', ballast, built],
    importTsx: ['--import', 'tsx', built],
    tsx: ['--import', 'tsx', tsEntry],
    tsxFlag: [flag, '--import', 'tsx', tsEntry],
    builtFlag: [flag, built],
    tsxSweep: ['--no-concurrent-array-buffer-sweeping', '--import', 'tsx', tsEntry],
  }
}
const byTree = await Promise.all(trees.map(contendersOf))
const kinds = option('--only')?.split(',') ?? Object.keys(byTree[0])
/** contender names: the kind, prefixed by its tree's letter when there are two */
const letter = (t: number) => (trees.length > 1 ? `${'AB'[t]}:` : '')
const contenders: Record<string, string[]> = {}
const cwdOf: Record<string, string> = {}
for (let t = 0; t < trees.length; t++) {
  for (const k of kinds) {
    contenders[`${letter(t)}${k}`] = byTree[t][k]
    cwdOf[`${letter(t)}${k}`] = trees[t]
  }
}
const names = Object.keys(contenders)

interface Row {
  cpu: number
  wall: number
  fullGcs: number
  oldMB: number
  /** full collections by the reason their marking started */
  starts: Record<string, number>
  /** scavenges started by external memory pressure */
  extScavenges: number
  /** the process's minor page faults (loading the data included) */
  faults: number
  /** full collections within the training, and their pauses (ms), and the scavenges' pauses */
  trainFullGcs: number
  fullMs: number
  scavengeMs: number
}
/** V8's incremental-marking start reasons, shortened */
const reasons: Record<string, string> = {
  'allocation limit': 'limit',
  'external memory pressure': 'ext',
  task: 'task',
}
const rows: Record<string, Row[]> = Object.fromEntries(names.map((n) => [n, []]))
for (let rep = 0; rep < reps; rep++) {
  for (const name of names.map((_, i) => names[(i + rep) % names.length])) {
    const load = loadavg()[0]
    const r = spawnSync(
      process.execPath,
      ['--trace-gc', '--trace-incremental-marking', ...contenders[name], opts],
      { cwd: cwdOf[name], encoding: 'utf8', maxBuffer: 1 << 28 },
    )
    const result = /RESULT (.*)/.exec(r.stdout)
    if (r.status !== 0 || !result) throw new Error(`${name}: exit ${r.status}\n${r.stderr}`)
    const res = JSON.parse(result[1])
    // the main thread's isolate only (the one with the most collections): a worker's or tsx's
    // loader thread's lines name another
    const byIsolate = new Map<string, string[]>()
    for (const m of r.stdout.matchAll(/^\[\d+:(0x[0-9a-f]+)\].*$/gm)) {
      byIsolate.set(m[1], [...(byIsolate.get(m[1]) ?? []), m[0]])
    }
    const main = [...byIsolate.values()].sort((a, b) => b.length - a.length)[0] ?? []
    const fullGcs = main.filter((l) => l.includes(': Mark-Compact ')).length
    const starts: Record<string, number> = {}
    for (const l of main) {
      const m = /\[IncrementalMarking\] Start \(([^)]*)\)/.exec(l)
      if (m) starts[reasons[m[1]] ?? m[1]] = (starts[reasons[m[1]] ?? m[1]] ?? 0) + 1
    }
    const extScavenges = main.filter(
      (l) => l.includes(': Scavenge ') && l.includes('external memory pressure'),
    ).length
    // trace-gc: `[pid:isolate]   T ms: Mark-Compact a (b) -> c (d) MB, PAUSE / x ms ...`
    const inTraining = (l: string) => {
      const t = Number(/\]\s+(\d+) ms:/.exec(l)?.[1])
      return t >= res.window[0] && t <= res.window[1]
    }
    const pause = (l: string) => Number(/MB, ([\d.]+) \//.exec(l)?.[1] ?? 0)
    const fullInTraining = main.filter((l) => l.includes(': Mark-Compact ') && inTraining(l))
    const scavInTraining = main.filter((l) => l.includes(': Scavenge ') && inTraining(l))
    const row = {
      trainFullGcs: fullInTraining.length,
      fullMs: fullInTraining.reduce((a, l) => a + pause(l), 0),
      scavengeMs: scavInTraining.reduce((a, l) => a + pause(l), 0),
      cpu: res.trainCpuSeconds,
      wall: res.trainSeconds,
      fullGcs,
      oldMB: res.oldMB,
      starts,
      extScavenges,
      faults: res.faults,
    }
    rows[name].push(row)
    const why = Object.entries(starts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')
    console.log(
      `rep ${rep + 1} ${name.padEnd(10)} cpu ${row.cpu.toFixed(2)} s  wall ${row.wall.toFixed(2)} s  full GCs ${fullGcs} (${why}; in training ${row.trainFullGcs}, ${row.fullMs.toFixed(1)} ms; scavenges ${row.scavengeMs.toFixed(1)} ms)  scavenges by external memory ${extScavenges}  old ${row.oldMB.toFixed(1)} MB  minor faults ${row.faults}  load ${load.toFixed(1)}  loss ${res.loss}${res.testAcc === undefined ? '' : ` acc ${res.testAcc} two-thread steps ${res.twoThreadSteps}`}`,
    )
  }
}
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
console.log(
  `\n${workload === 'w5' ? 'W5' : `${iters} steps`}, ${reps} reps; medians, and ratios to ${names[0]} in the same rep:`,
)
for (const name of names) {
  const r = rows[name]
  const ratio = (k: 'cpu' | 'wall') => r.map((x, i) => x[k] / rows[names[0]][i][k])
  const span = (v: number[]) =>
    `×${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`
  console.log(
    `${name.padEnd(10)} cpu ${median(r.map((x) => x.cpu)).toFixed(2)} s ${span(ratio('cpu'))}  wall ${median(r.map((x) => x.wall)).toFixed(2)} s [${Math.min(...r.map((x) => x.wall)).toFixed(2)}–${Math.max(...r.map((x) => x.wall)).toFixed(2)}] ${span(ratio('wall'))}  full GCs ${median(r.map((x) => x.fullGcs))} (in training ${median(r.map((x) => x.trainFullGcs))}, ${median(r.map((x) => x.fullMs)).toFixed(1)} ms; scavenges ${median(r.map((x) => x.scavengeMs)).toFixed(1)} ms)  old ${median(r.map((x) => x.oldMB)).toFixed(1)} MB  minor faults ${median(r.map((x) => x.faults))}`,
  )
}
if (trees.length > 1) {
  console.log(`\nB = ${trees[1]} against A = ${trees[0]}, per contender (B/A in the same rep):`)
  for (const k of kinds) {
    const a = rows[`A:${k}`]
    const b = rows[`B:${k}`]
    const per = (key: 'cpu' | 'wall') => b.map((x, i) => (x[key] / a[i][key]).toFixed(2)).join(' ')
    console.log(`${k.padEnd(10)} wall B/A ${per('wall')}  cpu B/A ${per('cpu')}`)
  }
}
