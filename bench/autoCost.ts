// What 'auto' costs W5 against a fixed thread count, priced inside each run rather than read from
// whole-run walls (which move ±20% between runs on this project's shared VM): W5 (mlp
// 784–256–128–10, Adam 1e-3, batch 128, one shuffled epoch, as workloads.bench.ts's `w5`) run per
// spec `tree:threads` in fresh processes, the specs alternating (order reversed every other
// round), built (each tree's sources bundled with esbuild, as bench/w5Ab.ts) or under tsx.
//
//   npx tsx bench/autoCost.ts [--pairs 10] [--tsx] [--busy-at n] SPEC…   (SPEC: tree:auto|1|2)
//
// Per run: the training's wall; its steady two-thread step (median period of the two-thread steps
// from step 100 on; with none, of all steps from 100); `excess` = wall − 469 × that step, the ms
// the run spent beyond 469 steady steps (its start, its one-thread steps, its collections); the
// one-thread steps' count and `one` = their periods minus the steady step, summed (what they
// cost); the first two-thread step; the probes (autoThreads.ts probeLog). The excess is measured
// against the same run's own speed, so a slow host does not move it as it moves the wall. Then per
// spec the medians, and per round each spec's wall and excess against the first spec's.
// --busy-at n: from step n on another process spins on a core (a competing job). `start`: the
// first 20 steps' periods beyond 20 steady steps (AUTO_COST_FIRSTS=1 prints those periods), then
// the same for steps 20–59, 60–149 and 150 on.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { bundleEntry, bundleWorkers } from './bundle.js'

const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const specs = args.filter((a, i) => !a.startsWith('--') && !/^--(pairs|busy-at)$/.test(args[i - 1]))
const pairs = Number(option('--pairs') ?? 10)
const tsx = args.includes('--tsx')
const busyAt = option('--busy-at')
if (specs.length === 0) throw new Error('usage: npx tsx bench/autoCost.ts [--pairs n] tree:auto …')

const STEPS = 469
/** The child: W5 as workloads.bench.ts's mlpAdam runs it, each step's end and thread count kept. */
const child = (root: string) => `import { last, lastValueFrom, tap } from 'rxjs'
import { spawn } from 'node:child_process'
import { epochBatches, mlp, setKernelThreads, train } from '${root}/src/index.ts'
import { closeWorkers, loadMnist } from '${root}/src/node.ts'
import { adam, gradient, maxSteps } from '${root}/operators/index.ts'
import { probeLog } from '${root}/src/parallel/autoThreads.ts'
import { tapeStats } from '${root}/src/parallel/tapeThreads.ts'
const th = process.env.AUTO_COST_THREADS
if (th !== 'auto') setKernelThreads(Number(th))
const busyAt = Number(process.env.AUTO_COST_BUSY_AT ?? Infinity)
let busy = null
const mnist = loadMnist({ oneHotLabel: true })
const net = mlp({ seed: 0, sizes: [784, 256, 128, 10] })
const ends = []
const two = []
const t0 = performance.now()
const final = await lastValueFrom(
  train({
    params: net.params,
    data: epochBatches(mnist.train, { batchSize: 128, seed: 0 }),
    step: (s) => s.pipe(gradient((p, b) => net.lossAndGradient(p, b.x, b.t)), adam(0.001)),
  }).pipe(
    tap(() => {
      ends.push(performance.now())
      two.push(tapeStats.steps)
      if (ends.length === busyAt) busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
    }),
    maxSteps(${STEPS}),
    last(),
  ),
)
const wall = performance.now() - t0
busy?.kill()
const y = net.predict(final.params, mnist.test.x)
const k = y.shape[1]
let hits = 0
for (let i = 0; i < y.shape[0]; i++) {
  let best = 0
  let label = 0
  for (let j = 1; j < k; j++) {
    if (y.data[i * k + j] > y.data[i * k + best]) best = j
    if (mnist.test.t.data[i * k + j] > mnist.test.t.data[i * k + label]) label = j
  }
  if (best === label) hits++
}
await closeWorkers()
console.log('RESULT ' + JSON.stringify({ wall, t0, ends, two, loss: final.loss, acc: hits / y.shape[0], probeLog }))
`

async function prepare(tree: string): Promise<string[]> {
  const out = join(tree, 'bench', 'out-ab', `autoCost-${process.pid}`)
  mkdirSync(out, { recursive: true })
  const src = join(out, 'child.ts')
  writeFileSync(src, child(tree))
  if (tsx) return ['--import', 'tsx', src]
  const file = join(out, 'child.mjs')
  await bundleWorkers(tree, out, 'silent')
  const contents = child(tree)
  await bundleEntry(tree, { contents, resolveDir: join(tree, 'bench'), outfile: file }, 'silent')
  return [file]
}

const median = (a: number[]) => {
  const b = [...a].sort((x, y) => x - y)
  const n = b.length
  return n === 0 ? NaN : n % 2 ? b[n >> 1] : (b[n / 2 - 1] + b[n / 2]) / 2
}

interface Run {
  wall: number
  /** the first 20 steps' periods minus 20 steady steps (ms), and those periods */
  start: number
  /** the same beyond the steady step for steps 20–59, 60–149 and 150 on (ms) */
  later: number[]
  firsts: number[]
  steady: number
  excess: number
  ones: number
  one: number
  first2: number
  loss: number
  acc: number
}

/** Prices a run's steps against its own steady two-thread step. */
function price(x: { wall: number; t0: number; ends: number[]; two: number[] }): Run {
  const period = x.ends.map((e, i) => e - (i === 0 ? x.t0 : x.ends[i - 1]))
  const ran2 = x.two.map((n, i) => n > (i === 0 ? 0 : x.two[i - 1]))
  const late = period.map((p, i) => ({ p, i })).filter(({ i }) => i >= 100)
  const late2 = late.filter(({ i }) => ran2[i])
  const steady = median((late2.length > 0 ? late2 : late).map(({ p }) => p))
  let ones = 0
  let one = 0
  // a step's own thread count; step 1 (the tape's first call) counts when it ran on one thread
  for (let i = 0; i < period.length; i++) {
    if (ran2[i]) continue
    ones++
    one += period[i] - steady
  }
  const firsts = period.slice(0, 20)
  const beyond = (from: number, to: number) =>
    period.slice(from, to).reduce((a, b) => a + b - steady, 0)
  return {
    later: [beyond(20, 60), beyond(60, 150), beyond(150, period.length)],
    wall: x.wall,
    start: firsts.reduce((a, b) => a + b, 0) - firsts.length * steady,
    firsts,
    steady,
    excess: x.wall - STEPS * steady,
    ones,
    one,
    first2: ran2.indexOf(true) + 1,
    ...(x as unknown as { loss: number; acc: number }),
  }
}

const commands = new Map<string, string[]>()
for (const s of specs) {
  const tree = resolve(s.slice(0, s.lastIndexOf(':')))
  if (!commands.has(tree)) commands.set(tree, await prepare(tree))
}
const runs = new Map<string, Run[]>(specs.map((s) => [s, []]))
const load = () => loadavg()[0].toFixed(2)
console.log(
  `W5 'auto' cost, ${tsx ? 'tsx' : 'built'}, ${pairs} rounds of ${specs.join(' ')}` +
    (busyAt ? `, a busy loop from step ${busyAt}` : '') +
    `; ${new Date().toISOString()}, load ${load()}`,
)
for (let r = 0; r < pairs; r++) {
  for (const s of r % 2 ? [...specs].reverse() : specs) {
    const tree = resolve(s.slice(0, s.lastIndexOf(':')))
    const threads = s.slice(s.lastIndexOf(':') + 1)
    const l0 = load()
    const text = execFileSync('node', commands.get(tree)!, {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      env: {
        ...process.env,
        AUTO_COST_THREADS: threads,
        ...(busyAt ? { AUTO_COST_BUSY_AT: busyAt } : {}),
      },
    })
    const line = text.split('\n').find((l) => l.startsWith('RESULT '))
    if (line === undefined) throw new Error(`no RESULT from ${s}:\n${text}`)
    const x = JSON.parse(line.slice(7))
    const p = price(x)
    runs.get(s)!.push(p)
    const probes = (x.probeLog as { at: number; mode: number; inUse: number; other: number }[])
      .map((q) => `@${q.at} ${q.mode}: ${q.inUse.toFixed(2)}/${q.other.toFixed(2)}`)
      .join('; ')
    console.log(
      `  ${s.padEnd(30)} ${(p.wall / 1000).toFixed(3)} s; steady ${p.steady.toFixed(2)} ms; ` +
        `excess ${p.excess.toFixed(0)} ms; start ${p.start.toFixed(0)} ms, then ${p.later.map((v) => v.toFixed(0)).join(' / ')}; one-thread steps ${p.ones} costing ${p.one.toFixed(0)} ms; ` +
        `first two-thread step ${p.first2}; loss ${p.loss} acc ${p.acc}; load ${l0} → ${load()}` +
        (probes ? ` | ${probes}` : '') +
        (process.env.AUTO_COST_FIRSTS
          ? ` | first steps ${p.firsts.map((f) => f.toFixed(1)).join(' ')}`
          : ''),
    )
  }
}
const first = runs.get(specs[0])!
for (const s of specs) {
  const rs = runs.get(s)!
  const m = (f: (p: Run) => number) => median(rs.map(f))
  const range = (f: (p: Run) => number) =>
    `${Math.min(...rs.map(f)).toFixed(3)}–${Math.max(...rs.map(f)).toFixed(3)}`
  const vs =
    s === specs[0]
      ? ''
      : `; per round against ${specs[0]}: wall ratio median ${median(rs.map((p, i) => p.wall / first[i].wall)).toFixed(3)}, ` +
        `excess difference median ${median(rs.map((p, i) => p.excess - first[i].excess)).toFixed(0)} ms, ` +
        `start difference median ${median(rs.map((p, i) => p.start - first[i].start)).toFixed(0)} ms`
  console.log(
    `${s.padEnd(30)} wall median ${(m((p) => p.wall) / 1000).toFixed(3)} s (${range((p) => p.wall / 1000)}), ` +
      `steady ${m((p) => p.steady).toFixed(2)} ms, excess ${m((p) => p.excess).toFixed(0)} ms, ` +
      `start ${m((p) => p.start).toFixed(0)} ms, then ${[0, 1, 2].map((j) => m((p) => p.later[j]).toFixed(0)).join(' / ')}, ` +
      `one-thread steps ${m((p) => p.ones)} costing ${m((p) => p.one).toFixed(0)} ms, first two-thread step ${m((p) => p.first2)}${vs}`,
  )
}
const all = [...runs.values()].flat()
console.log(
  `same loss and accuracy in every run: ${all.every((p) => p.loss === all[0].loss && p.acc === all[0].acc)} ` +
    `(${all[0].loss} / ${all[0].acc}); load ${load()}; ${new Date().toISOString()}`,
)
