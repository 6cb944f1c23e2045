// W3's step times, run by run: `npx tsx bench/w3Steps.ts [--trees A,B] [--threads 1,auto]
// [--reps 3] [--iters 10000] [--faults] [--cpu-steps] [--causes] [--node-flags '--trace-gc']
// [--minor-gc-every N]`.
// --minor-gc-every N (a diagnosis, adds --expose-gc) collects the young generation every N steps:
// what a shorter cycle of fresh arrays would change (first-touch faults, collections). --faults
// and --cpu-steps add a getrusage call to every step (page faults, the process's CPU time a
// step: robust to preemption on a shared machine, at a few microseconds a step). --causes splits
// the time above the median by kind of step (w3Steps.bench.ts' CAUSES: the first 100 steps,
// collections, waits for a core, batches the worker had not prepared, settles, faults, the rest
// of the warm-up to step 2000, the rest), at two /proc reads a step. Each tree's
// bench/w3Steps.bench.ts (this checkout's copy, against that tree's sources) is bundled with
// esbuild and run in a fresh node process; rounds alternate trees and thread settings (A1 Aauto
// B1 Bauto, then the next round), so a shared machine's load falls on all alike. Prints each
// run's wall / CPU, the mean step against the median one and where the difference goes (slow
// steps, two-thread probe steps, collections, the first 100 steps), the warm-up (steps 1–2000
// above the median of the later steps: the run's own steady speed), the final evaluation, and
// the medians per tree and setting.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleEntry, bundleWorkers } from './bundle.js'

const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const here = dirname(fileURLToPath(import.meta.url))
const trees = (option('--trees') ?? join(here, '..')).split(',')
const threads = (option('--threads') ?? '1,auto').split(',')
const reps = Number(option('--reps') ?? 3)
const iters = Number(option('--iters') ?? 10_000)
const faults = args.includes('--faults')
const cpuSteps = args.includes('--cpu-steps')
const causes = args.includes('--causes')
const CAUSES = ['first100', 'gc', 'waited', 'unprepared', 'settle', 'faults', 'warmup', 'rest']
const minorGcEvery = Number(option('--minor-gc-every') ?? 0)
const nodeFlags = [
  ...(option('--node-flags') ?? '').split(' ').filter(Boolean),
  ...(minorGcEvery > 0 ? ['--expose-gc'] : []),
]

async function bundle(tree: string): Promise<string> {
  const out = join(tree, 'bench', 'out-w3', `run-${process.pid}`)
  mkdirSync(out, { recursive: true })
  // this checkout's harness, beside the tree's other bench files (it imports their sources)
  const src = readFileSync(join(here, 'w3Steps.bench.ts'), 'utf8').replaceAll(
    "'../src/",
    "'../../src/",
  )
  writeFileSync(join(tree, 'bench', 'out-w3', 'w3Steps.bench.ts'), src)
  await bundleWorkers(tree, out, 'silent')
  const file = join(out, 'w3steps.mjs')
  await bundleEntry(
    tree,
    {
      contents: `import { w3steps } from './w3Steps.bench.ts'
const r = await w3steps(JSON.parse(process.argv[2]))
console.log('RESULT ' + JSON.stringify(r))`,
      resolveDir: join(tree, 'bench', 'out-w3'),
      outfile: file,
    },
    'silent',
  )
  return file
}

const files = new Map<string, string>()
for (const t of trees) files.set(t, await bundle(t))
type R = Record<string, number>
const results = new Map<string, R[]>()
const f1 = (v: number) => v.toFixed(1)
for (let rep = 0; rep < reps; rep++) {
  for (const t of trees) {
    for (const th of threads) {
      const opts = {
        iters,
        threads: th === 'auto' ? 'auto' : Number(th),
        faults,
        cpuSteps,
        minorGcEvery,
        causes,
      }
      const load = loadavg()[0]
      const out = execFileSync('node', [...nodeFlags, files.get(t)!, JSON.stringify(opts)], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      })
      const r = JSON.parse(
        out
          .split('\n')
          .find((l) => l.startsWith('RESULT '))!
          .slice(7),
      ) as R
      const key = `${t} threads=${th}`
      results.set(key, [...(results.get(key) ?? []), r])
      console.log(
        `${new Date().toISOString().slice(11, 19)} load ${load.toFixed(1)} ${key}: ` +
          `${r.seconds.toFixed(2)} s (train ${r.trainSeconds.toFixed(2)}, CPU ${r.trainCpu.toFixed(2)}; ` +
          `eval ${(1000 * r.evalSeconds).toFixed(0)} ms, CPU ${(1000 * r.evalCpu).toFixed(0)}) ` +
          `step mean ${f1(r.meanUs)} p50 ${f1(r.p50)} p90 ${f1(r.p90)} p99 ${f1(r.p99)} max ${(r.max / 1000).toFixed(1)} ms; ` +
          `above p50 ${r.aboveMs.toFixed(0)} ms (${r.slow2x} steps >2×, first 100 ${r.first100Ms.toFixed(0)} ms, ` +
          `steps 1–2000 ${r.warm2000Ms.toFixed(0)} ms, ` +
          `${r.twoSteps} two-thread ${r.twoAboveMs.toFixed(0)} ms, gc ${r.gcScav}s/${r.gcFull}f ${r.gcMs.toFixed(0)} ms ` +
          `(steps ${r.gcStepAboveMs.toFixed(0)} ms)` +
          (faults
            ? `, faults ${r.faults} (first 100 steps ${r.pfFirst100}, rest ${r.pfRest})`
            : '') +
          `) loss ${r.loss} test ${r.testAcc}` +
          (causes
            ? `\n    above p50 by cause (ms): ` +
              CAUSES.map((c) => `${c} ${r[`cause_${c}`].toFixed(0)}`).join(', ') +
              ` (${r.unprepared} batches unprepared, main-thread faults ${r.threadFaults})`
            : '') +
          (!cpuSteps
            ? ''
            : `\n    by CPU: step mean ${f1(r.cpuMeanUs)} p50 ${f1(r.cpuP50)} ` +
              `p90 ${f1(r.cpuP90)} p99 ${f1(r.cpuP99)} µs; above p50 ${r.cpuAboveMs.toFixed(0)} ms (first 100 ` +
              `${r.cpuFirst100Ms.toFixed(0)}, two-thread ${r.cpuTwoAboveMs.toFixed(0)}, steps with a gc ${r.cpuGcStepAboveMs.toFixed(0)})`),
      )
    }
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
console.log(`\nmedians of ${reps} (load now ${loadavg()[0].toFixed(1)}):`)
for (const [key, rs] of results) {
  const m = (f: string) => median(rs.map((r) => r[f]))
  console.log(
    `  ${key}: ${m('seconds').toFixed(2)} s, train ${m('trainSeconds').toFixed(2)} CPU ${m('trainCpu').toFixed(2)}, ` +
      `eval ${(1000 * m('evalSeconds')).toFixed(0)} ms CPU ${(1000 * m('evalCpu')).toFixed(0)}, ` +
      `mean ${f1(m('meanUs'))} p50 ${f1(m('p50'))} µs, above p50 ${m('aboveMs').toFixed(0)} ms, ` +
      `steps 1–2000 above the later median ${m('warm2000Ms').toFixed(0)} ms` +
      (cpuSteps
        ? `; by CPU mean ${f1(m('cpuMeanUs'))} p50 ${f1(m('cpuP50'))} µs, above p50 ${m('cpuAboveMs').toFixed(0)} ms`
        : '') +
      (causes
        ? `; by cause ${CAUSES.map((c) => `${c} ${m(`cause_${c}`).toFixed(0)}`).join(', ')}`
        : ''),
  )
}
