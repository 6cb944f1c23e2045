// A/B of W5 (bench/workloads.bench.ts `w5`: mlp 784–256–128–10, Adam, one shuffled epoch, then
// the test set's predictions) between two source trees, each run in a fresh node process (so a
// run's one-time costs count, as in `npm run bench`), the trees alternating A B, B A, …; each
// tree's own workloads.bench.ts bundled with esbuild against its own sources.
//
//   npx tsx bench/w5Ab.ts TREE_A TREE_B [--reps 6] [--threads 1|2|auto[,1|2|auto]]
//
// Prints per run: training wall and CPU (the process's, all threads), the final evaluation's
// wall, the training's minor page faults, `uptime` load, loss and test accuracy; then medians and
// B/A. --threads (default 1) takes the thread choice out of the comparison; two counts (A's, B's:
// `--threads auto,1`) compare thread choices, also on one tree given twice.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { bundleEntry, bundleWorkers } from './bundle.js'

const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const trees = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))
const reps = Number(option('--reps') ?? 6)
const threads = (option('--threads') ?? '1').split(',')
if (trees.length !== 2) throw new Error('usage: npx tsx bench/w5Ab.ts TREE_A TREE_B [--reps n]')

// the training's page faults: timedTraining reads process.cpuUsage() as it starts and again
// (with the start as argument) as it ends
const entry = (threads: string) => `import { w5 } from './workloads.bench.ts'
const cpuUsage = process.cpuUsage
const marks = []
process.cpuUsage = (prev) => (marks.push(process.resourceUsage().minorPageFault), cpuUsage(prev))
const r = await w5({ threads: ${threads === 'auto' ? "'auto'" : Number(threads)} })
console.log('RESULT ' + JSON.stringify({ ...r, faults: marks[1] - marks[0] }))`

async function bundle(tree: string, i: number): Promise<string> {
  const out = join(tree, 'bench', 'out-ab', `w5-${process.pid}-${i}`)
  mkdirSync(out, { recursive: true })
  const file = join(out, 'w5.mjs')
  await bundleWorkers(tree, out, 'silent')
  const contents = entry(threads[i] ?? threads[0])
  await bundleEntry(tree, { contents, resolveDir: join(tree, 'bench'), outfile: file }, 'silent')
  return file
}

const files = [await bundle(resolve(trees[0]), 0), await bundle(resolve(trees[1]), 1)]
type Run = Record<string, number>
const runs: Run[][] = [[], []]
const load = () => loadavg()[0].toFixed(2)
console.log(`W5 A/B, threads ${threads}, ${reps} runs each, A = ${trees[0]}, B = ${trees[1]}`)
for (let r = 0; r < reps; r++) {
  for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
    const l0 = load()
    const text = execFileSync('node', [files[i]], { encoding: 'utf8', maxBuffer: 1 << 26 })
    const line = text.split('\n').find((s) => s.startsWith('RESULT '))
    if (line === undefined) throw new Error(`no RESULT from ${files[i]}:\n${text}`)
    const x = JSON.parse(line.slice(7)) as Run
    runs[i].push(x)
    console.log(
      `  ${'AB'[i]} train ${x.trainSeconds.toFixed(3)} s wall, ${x.trainCpuSeconds.toFixed(3)} s CPU;` +
        ` eval ${x.evalSeconds.toFixed(3)} s; faults ${x.faults}; loss ${x.loss} acc ${x.testAcc};` +
        ` two-thread steps ${x.twoThreadSteps}; load ${l0} → ${load()}`,
    )
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
for (const k of ['trainSeconds', 'trainCpuSeconds', 'evalSeconds', 'faults']) {
  const [a, b] = runs.map((rs) => med(rs.map((x) => x[k])))
  console.log(`  ${k.padEnd(16)} A ${a.toFixed(3)}  B ${b.toFixed(3)}  B/A ${(b / a).toFixed(3)}`)
}
const same = runs[0].every((x, k) => x.loss === runs[1][k].loss && x.testAcc === runs[1][k].testAcc)
console.log(`  same loss and accuracy in every run: ${same}; load ${load()}`)
