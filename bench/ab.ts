// A/B of two source trees on the same machine in one run, interleaved: W3 (the book's training,
// `update(0.1)`), W4 (the loop's overhead, `update(0.1)` on the 2-D problem) and the optimizer
// stages of bench/optimizers.bench.ts, each measurement in a fresh node process, the trees
// alternating A B A B …; prints medians and B/A ratios. Each tree's bench files are bundled with
// esbuild as bench/run.ts bundles them (no tsx transform in the timed code).
//
//   npx tsx bench/ab.ts /work/wt/baseline /work/wt/i14-engine [--reps 5] [--w3-iters 1000]
//     [--w3-threads auto|1|2] [--only w3,w4,opt] [--same-harness]
//
// --w3-threads: W3's thread setting in both trees (default 'auto', each tree's own choice;
// 1 takes the thread choice out of the comparison, to see what the step itself costs).
//
// --same-harness: both trees run THIS checkout's bench/optimizers.bench.ts (against their own
// sources; it uses public names only), so both report the stage's CPU time as well as wall time.
//
// Beside the medians the table gives each figure's spread: the quartiles of the per-round B/A
// (a round measures A and B back to back) and how many rounds had B more than 3 % worse.
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleEntry, bundleWorkers } from './bundle.js'

const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const trees = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))
const reps = Number(option('--reps') ?? 5)
const w3Iters = Number(option('--w3-iters') ?? 1000)
const w3Threads = option('--w3-threads') ?? 'auto'
if (!['auto', '1', '2'].includes(w3Threads)) throw new Error('--w3-threads: auto, 1 or 2')
const only = option('--only')?.split(',')
const sameHarness = args.includes('--same-harness')
const here = dirname(fileURLToPath(import.meta.url))
if (trees.length !== 2) throw new Error('usage: npx tsx bench/ab.ts TREE_A TREE_B [--reps n]')

/** Bundles `entry` (a TS module body) against `tree`'s sources; returns the .mjs path. */
async function bundle(tree: string, name: string, contents: string): Promise<string> {
  // inside the tree (bare imports resolve from its node_modules), its worker modules beside;
  // a directory of this run's own, so that two A/B runs at once do not swap each other's files
  const out = join(tree, 'bench', 'out-ab', `run-${process.pid}`)
  mkdirSync(out, { recursive: true })
  const file = join(out, `${name}.mjs`)
  await bundleWorkers(tree, out, 'silent')
  const at = { contents, resolveDir: join(tree, 'bench'), outfile: file, sourcefile: `${name}.ts` }
  await bundleEntry(tree, at, 'silent')
  return file
}

const entries = {
  // r.twoThreadSteps: how many steps ran on two threads
  w3: `import { w3 } from './workloads.bench.ts'
const r = await w3({ iters: ${w3Iters}, threads: ${JSON.stringify(w3Threads === 'auto' ? 'auto' : Number(w3Threads))} })
console.log('RESULT ' + JSON.stringify(r))`,
  w4: `import { run } from './loop.bench.ts'
const r = await run({ quick: true }); console.log('RESULT ' + JSON.stringify(r))`,
  opt: sameHarness
    ? `import ${JSON.stringify(join(here, 'optimizers.bench.ts'))}`
    : `import './optimizers.bench.ts'`,
}

type Figures = Record<string, number>

/** W3's results per tree (the same bits in every run and both trees, where nothing changed them) */
const results = new Set<string>()

function measure(file: string, kind: keyof typeof entries): Figures {
  const text = execFileSync('node', [file], { encoding: 'utf8', maxBuffer: 1 << 26 })
  if (kind === 'opt') {
    const f: Figures = {}
    for (const m of text.matchAll(/^(\w+)\s+stage ([\d.]+)/gm))
      f[`opt ${m[1]} ms/step`] = Number(m[2])
    for (const m of text.matchAll(/^cpu (\w+)\s+stage ([\d.]+) min ([\d.]+)/gm)) {
      f[`opt ${m[1]} CPU ms/step`] = Number(m[2])
      f[`opt ${m[1]} CPU ms/step (min of 5)`] = Number(m[3])
    }
    return f
  }
  const r = JSON.parse(
    text
      .split('\n')
      .find((l) => l.startsWith('RESULT '))!
      .slice(7),
  )
  if (kind === 'w3') {
    const f: Figures = { 'W3 s/1000 iters': (r.trainSeconds ?? r.seconds) * (1000 / w3Iters) }
    if (r.trainCpuSeconds !== undefined)
      f['W3 CPU s/1000 iters'] = r.trainCpuSeconds * (1000 / w3Iters)
    f['W3 steps on two threads (not a speed figure)'] = r.twoThreadSteps
    results.add(`${file.startsWith(join(trees[0], 'bench')) ? 'A' : 'B'}: loss ${r.loss}, test accuracy ${r.testAcc}`)
    return f
  }
  return {
    'W4 train µs/step (CPU)': r.trainCpuUsPerStep,
    'W4 over bare µs/step (CPU)': r.overheadCpuUsPerStep,
    'W4 schedule η, over bare µs/step': r.scheduleOverheadCpuUsPerStep,
  }
}

const files: Record<string, Record<string, string>> = {}
for (const t of trees) {
  files[t] = {}
  for (const [k, c] of Object.entries(entries)) files[t][k] = await bundle(t, k, c)
}
const load0 = loadavg()
const t0 = new Date()
const all: Record<string, Record<string, number[]>> = { [trees[0]]: {}, [trees[1]]: {} }
for (let r = 0; r < reps; r++) {
  for (const kind of Object.keys(entries) as (keyof typeof entries)[]) {
    if (only !== undefined && !only.includes(kind)) continue
    const order = r % 2 === 0 ? trees : [...trees].reverse()
    for (const t of order) {
      const f = measure(files[t][kind], kind)
      for (const [k, v] of Object.entries(f)) (all[t][k] ??= []).push(v)
    }
  }
  console.error(`round ${r + 1}/${reps} done, load ${loadavg()[0].toFixed(1)}`)
}
for (const t of trees) rmSync(join(t, 'bench', 'out-ab', `run-${process.pid}`), { recursive: true })
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
console.log(`A = ${trees[0]}\nB = ${trees[1]}\nW3 threads: ${w3Threads}`)
console.log(
  `${t0.toISOString().slice(0, 16)} UTC, ${reps} rounds interleaved, load average ${load0[0].toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
)
// the spread, so that a ratio near a threshold can be read: each round measured A and B one
// after the other, so its B/A pairs them (same minute of load); the quartiles of those
// per-round ratios, and in how many rounds B was more than 3 % worse
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((x, y) => x - y)
  const at = q * (s.length - 1)
  const lo = Math.floor(at)
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo)
}
console.log(
  '| figure | A (median) | B (median) | B / A | per-round B/A: q1, median, q3 | rounds B/A > 1.03 |\n| --- | ---: | ---: | ---: | ---: | ---: |',
)
for (const k of Object.keys(all[trees[0]])) {
  const as = all[trees[0]][k]
  const bs = all[trees[1]][k] ?? []
  const a = median(as)
  const b = median(bs.length > 0 ? bs : [NaN])
  const paired = as.map((x, i) => bs[i] / x).filter((r) => Number.isFinite(r))
  const spread =
    paired.length === 0
      ? '—'
      : [0.25, 0.5, 0.75].map((q) => quantile(paired, q).toFixed(3)).join(', ')
  const over = paired.filter((r) => r > 1.03).length
  console.log(
    `| ${k} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(b / a).toFixed(3)} | ${spread} | ${over} of ${paired.length} |`,
  )
}
// every round's figures, to read a ratio against the noise
for (const k of Object.keys(all[trees[0]])) {
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(' ')
  console.log(`${k}: A ${fmt(all[trees[0]][k])} | B ${fmt(all[trees[1]][k] ?? [])}`)
}
for (const r of results) console.log(r)
