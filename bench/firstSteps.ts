// What a W5 or W3 run pays once, in its first steps: `npx tsx bench/firstSteps.ts --job w5|w3
// [--trees A,B] [--reps 3] [--iters n] [--first 20] [--node-flags '--trace-gc'] [--env K=V]
// [--env-b K=V]`. --env sets a variable for every run, --env-b for B's runs only (give one tree
// twice to compare a setting: `--trees .,. --env-b GLIBC_TUNABLES=glibc.malloc.hugetlb=1`).
// Each tree's run of bench/firstSteps.bench.ts (this checkout's copy, against that tree's
// sources) is bundled with esbuild and run in a fresh node process, one thread, the trees
// alternating A B, B A, …. Prints per run: process start → training start → first step's state,
// training wall / CPU / page faults, the CPU of the first `first` steps above the run's median
// step, loss and accuracy; then per tree the median over runs of each of the first steps
// (process CPU ms, main-thread CPU ms, faults).
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleEntry, bundleWorkers } from './bundle.js'

const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const here = dirname(fileURLToPath(import.meta.url))
const trees = (option('--trees') ?? join(here, '..')).split(',').map((t) => resolve(t))
const job = option('--job') ?? 'w5'
const reps = Number(option('--reps') ?? 3)
const iters = option('--iters') === undefined ? undefined : Number(option('--iters'))
const first = Number(option('--first') ?? (job === 'w5' ? 20 : 200))
const nodeFlags = (option('--node-flags') ?? '').split(' ').filter(Boolean)
const env = { ...process.env }
const envB: Record<string, string> = {}
for (const [i, a] of args.entries()) {
  if (a === '--env' || a === '--env-b') {
    const [k, ...v] = args[i + 1].split('=')
    ;(a === '--env' ? env : envB)[k] = v.join('=')
  }
}

async function bundle(tree: string, i: number): Promise<string> {
  const dir = join(tree, 'bench', 'out-first')
  const out = join(dir, `run-${process.pid}-${i}`)
  mkdirSync(out, { recursive: true })
  // this checkout's harness, beside the tree's bench files (it imports their sources)
  writeFileSync(join(dir, 'firstSteps.bench.ts'), readFileSync(join(here, 'firstSteps.bench.ts')))
  await bundleWorkers(tree, out, 'silent')
  const file = join(out, 'first.mjs')
  const contents = `import { firstSteps } from './firstSteps.bench.ts'
const r = await firstSteps(JSON.parse(process.argv[2]))
console.log('RESULT ' + JSON.stringify(r))`
  await bundleEntry(tree, { contents, resolveDir: dir, outfile: file }, 'silent')
  return file
}

const files: string[] = []
for (const [i, t] of trees.entries()) files.push(await bundle(t, i))
type R = Record<string, number> & Record<'dCpu' | 'dMain' | 'dPf' | 'dWall', number[]>
const runs: R[][] = trees.map(() => [])
const sum = (a: number[]) => a.reduce((s, x) => s + x, 0)
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
const f0 = (v: number) => v.toFixed(0)
const f1 = (v: number) => v.toFixed(1)
console.log(`${job}, ${reps} runs a tree, first ${first} steps; trees ${trees.join(', ')}`)
for (let r = 0; r < reps; r++) {
  const order = trees.map((_, i) => i)
  if (r % 2 === 1) order.reverse()
  for (const i of order) {
    const load = loadavg()[0].toFixed(2)
    const out = execFileSync(
      'node',
      [...nodeFlags, files[i], JSON.stringify({ job, ...(iters ? { iters } : {}) })],
      { encoding: 'utf8', maxBuffer: 1 << 26, env: i === 1 ? { ...env, ...envB } : env },
    )
    const line = out.split('\n').find((l) => l.startsWith('RESULT '))
    if (line === undefined) throw new Error(`no RESULT:\n${out}`)
    const x = JSON.parse(line.slice(7)) as R
    runs[i].push(x)
    const above = (d: number[], m: number) => sum(d.slice(1, first + 1).map((v) => v - m))
    console.log(
      `${new Date().toISOString().slice(11, 19)} load ${load} ${'ABCDEFGH'[i]}: start→module ` +
        `${f0(x.enteredMs)} ms, →train ${f0(x.trainStartMs)}, →step 1 ${f0(x.firstStepMs)} ` +
        `(CPU ${f0(x.cpuBeforeTrainMs)} / ${f0(x.cpuToFirstStepMs)}); train ${f0(x.trainWallMs)} ms ` +
        `CPU ${f0(x.trainCpuMs)} faults ${x.trainFaults}; median step CPU ${x.medCpu.toFixed(2)} ` +
        `main ${x.medMain.toFixed(2)} ms ${x.medPf} faults; first ${first}: CPU above median ` +
        `${f0(above(x.dCpu, x.medCpu))} ms (main ${f0(above(x.dMain, x.medMain))}), faults ` +
        `${sum(x.dPf.slice(1, first + 1))}; setup (to the initial state) CPU ${f1(x.dCpu[0])} ` +
        `faults ${x.dPf[0]}; step 1 CPU ${f1(x.dCpu[1])} main ${f1(x.dMain[1])} faults ${x.dPf[1]}; loss ${x.loss} acc ${x.testAcc}`,
    )
  }
}
for (const [i, rs] of runs.entries()) {
  console.log(`\n${'ABCDEFGH'[i]} = ${trees[i]}, medians over ${rs.length} runs:`)
  const m = (k: string) => med(rs.map((x) => x[k]))
  console.log(
    `  →train ${f0(m('trainStartMs'))} ms, →step 1 ${f0(m('firstStepMs'))} ms, train ${f0(m('trainWallMs'))} ms ` +
      `CPU ${f0(m('trainCpuMs'))} faults ${m('trainFaults')}, median step CPU ${m('medCpu').toFixed(2)} ms, ` +
      `first ${first} steps: CPU above median ${f0(med(rs.map((x) => sum(x.dCpu.slice(1, first + 1).map((v) => v - x.medCpu)))))} ms, ` +
      `faults ${med(rs.map((x) => sum(x.dPf.slice(1, first + 1))))}`,
  )
  const per = (k: 'dCpu' | 'dMain' | 'dPf', s: number) => med(rs.map((x) => x[k][s]))
  const show = Math.min(first, 20)
  for (const k of ['dCpu', 'dMain', 'dPf'] as const) {
    const v = Array.from({ length: show + 1 }, (_, s) => per(k, s))
    console.log(
      `  ${k.padEnd(5)} setup, steps 1-${show}: ${v.map((x) => (k === 'dPf' ? f0(x) : f1(x))).join(' ')}`,
    )
  }
  if (first > 20) {
    for (const [lo, hi] of [
      [0, 10],
      [10, 50],
      [50, 100],
      [100, first],
    ]) {
      const cut = (a: number[]) => a.slice(lo + 1, hi + 1)
      const cpuA = med(rs.map((x) => sum(cut(x.dCpu).map((v) => v - x.medCpu))))
      const mainA = med(rs.map((x) => sum(cut(x.dMain).map((v) => v - x.medMain))))
      const pfs = med(rs.map((x) => sum(cut(x.dPf))))
      console.log(
        `  steps ${lo + 1}-${hi}: CPU above median ${f0(cpuA)} ms (main ${f0(mainA)}), faults ${pfs}`,
      )
    }
  }
}
