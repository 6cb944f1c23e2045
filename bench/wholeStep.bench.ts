// The whole-step optimizers of issue 17 against the plain optimizer they wrap, on 235,146
// parameters (W5's mlp 784–256–128–10, ReLU, He; MNIST batches of 128), in one process,
// interleaved (a new order every round), one kernel thread. Prints medians; asserts
// nothing. (Not a W1–W5 workload: `npm run bench` skips it.)
//
//   npx tsx bench/wholeStep.bench.ts [rounds=5] [steps=30] [--cpu] [--built]
//
// The issue's line ("per-step overhead over the plain optimizer … SAM ≈ one extra gradient, the
// others ≤ 1.3× the inner optimizer's step") is read as follows (the lead's readings, session 8):
// - The ≤ 1.3× is on the WHOLE training step (gradient + optimizer, through `train`, what a user
//   sees): "SAM ≈ one extra gradient" can only mean a whole step. The `step` columns. The `stage`
//   columns (the optimizer stage alone, on a fixed gradient, no network) explain where a ratio
//   comes from; they are not the target (a wrapper that must write two fresh arrays a step, as
//   schedule-free must, cannot be ≤ 1.3× a stage that writes one).
// - SAM: about one extra gradient, ≈ 2× sgd's step at 2.00 evaluations a step; read directly
//   as SAM's step / (sgd's step + one gradient call `grad`: fn(θ, batch) alone, as SAM's second
//   call makes it, measured in the same rounds, interleaved), the row `sam+sgd | sgd + grad`.
// - The line search cannot be cheaper than its own loss evaluations, so it is judged as SAM is:
//   its step must cost ≤ 1.3 × (the inner optimizer's step + n × one loss-only evaluation of f on
//   the batch), n the measured extra evaluations a step (its trials; the gradient's is the
//   first). One loss evaluation (`loss f`: f(θ, batch), a forward pass, as a trial calls it) is
//   measured in the same rounds, interleaved with the steps; the last row is that ratio.
// - schedule-free (sgd, adamw) and multiSteps(4, adam): ≤ 1.3× the plain optimizer's step.
//
// A step's time is a run's steps 2…n (the first step of each run, which builds the run's plan,
// is its warm-up); each ratio is given three times: of the medians over rounds, the median (and
// range) of the per-round ratios (a wrapper and its plain optimizer run in the same round, a
// few seconds apart, so the machine's drift cancels), and of the totals over all rounds (a
// collection lands in one 20-step run or another: the totals count each contender's share of
// them, the medians count them or not by chance). Each round runs the contenders in an order
// of its own (shuffled, the same every run of the bench): a rotation kept each one behind the
// same neighbour every round, and so behind the same neighbour's garbage. `--cpu`: CPU time instead of wall time
// (on a shared machine). `--built`: the same bench bundled
// with esbuild (bench/bundle.ts, as an application would ship gradstream) into bench/out/ and run
// on plain node: no tsx loader, whose bigger old generation makes V8 collect more often (issue 21,
// bench/tsxVsBuilt.ts). `--gc`: also V8's full (mark-compact) collections that began inside each
// contender's timed steps (or calls), per 100, and their ms a step (node's 'gc' performance
// entries).
// The lead's command, quiet machine, three runs of each:
//   npx tsx bench/wholeStep.bench.ts 8 20 --cpu
//   npx tsx bench/wholeStep.bench.ts 8 20 --cpu --built
import { last, lastValueFrom, of, pipe, tap, type OperatorFunction } from 'rxjs'
import {
  type Batch,
  epochBatches,
  mlp,
  type MlpParams,
  randn,
  rng,
  setKernelThreads,
  train,
} from 'gradstream'
import type { Params, TrainState, WithGradient } from 'gradstream'
import { loadMnist } from 'gradstream/node'
import { PerformanceObserver } from 'node:perf_hooks'
import {
  adam,
  adamw,
  applyUpdates,
  gradient,
  maxSteps,
  multiSteps,
  sam,
  scaleByBacktrackingLinesearch,
  scaleByLearningRate,
  scheduleFreeAdamw,
  scheduleFreeSgd,
  sgd,
} from 'gradstream/operators'

if (process.argv.includes('--built')) {
  // bundle this file against this tree's sources, run it on plain node with the other arguments
  const { join } = await import('node:path')
  const { spawnSync } = await import('node:child_process')
  // a specifier esbuild does not follow: the built bench itself never loads esbuild
  const bundler = './bundle.js'
  const { bundleEntry } = (await import(bundler)) as typeof import('./bundle.js')
  const here = import.meta.dirname
  const outfile = join(here, 'out', 'wholeStep.mjs')
  const self = join(here, 'wholeStep.bench.ts')
  await bundleEntry(join(here, '..'), {
    ...{ contents: `import ${JSON.stringify(self)}`, resolveDir: here, outfile },
  })
  const args = process.argv.slice(2).filter((a) => a !== '--built')
  const run = spawnSync(process.execPath, [outfile, ...args], { stdio: 'inherit' })
  process.exit(run.status ?? 1)
}
const rounds = Number(process.argv.filter((a) => !a.startsWith('--'))[2] ?? 5)
// `--cpu`: the process's CPU time (user + system) instead of wall time: on a machine shared with
// other jobs, wall time also counts the time spent waiting for a core
const cpu = process.argv.includes('--cpu')
const now = () => {
  if (!cpu) return performance.now()
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const steps = Number(process.argv.filter((a) => !a.startsWith('--'))[3] ?? 30)
// `--gc`: full collections' start times and durations (ms, performance.now()'s clock), and each
// timed run's (or calls') span
const fullGcs: { start: number; ms: number }[] = []
const spans: { name: string; from: number; to: number }[] = []
const gcObserver = process.argv.includes('--gc')
  ? new PerformanceObserver((list) => {
      // node's NODE_PERFORMANCE_GC_MAJOR
      for (const e of list.getEntries()) {
        if ((e as { detail?: { kind?: number } }).detail?.kind === 4) {
          fullGcs.push({ start: e.startTime, ms: e.duration })
        }
      }
    })
  : null
gcObserver?.observe({ entryTypes: ['gc'] })
setKernelThreads(1)

const mnist = loadMnist({ oneHotLabel: true, trainSize: 10_000, testSize: 100 })
const net = mlp({ sizes: [784, 256, 128, 10], activation: 'relu', init: 'he', seed: 1 })
const fg = (p: MlpParams, b: Batch) => net.lossAndGradient(p, b.x, b.t)
const lossOf = (p: MlpParams, b: Batch) => net.loss(p, b.x, b.t)

type Step = OperatorFunction<TrainState<MlpParams>, TrainState<MlpParams>>
const whole: Record<string, () => Step> = {
  sgd: () => pipe(gradient(fg), sgd(0.05)),
  'sam+sgd': () => pipe(sam(fg, { rho: 0.05 }), sgd(0.05)),
  scheduleFreeSgd: () => pipe(gradient(fg), scheduleFreeSgd(0.05)),
  'sgd(1)+linesearch': () =>
    pipe(
      gradient(fg),
      scaleByLearningRate(1),
      scaleByBacktrackingLinesearch(lossOf),
      applyUpdates(),
    ),
  adamw: () => pipe(gradient(fg), adamw(1e-3, { b1: 0, weightDecay: 0 })),
  scheduleFreeAdamw: () => pipe(gradient(fg), scheduleFreeAdamw(1e-3)),
  adam: () => pipe(gradient(fg), adam(1e-3)),
  'multiSteps(4, adam)': () => pipe(gradient(fg), multiSteps(4, adam(1e-3))),
}

/**
 * ms per call of `f` (a loss-only evaluation f(θ, batch), or one gradient call fn(θ, batch)) on
 * the batches a run's steps take, the first call left out as a run's first step is.
 */
function calls(f: (p: MlpParams, b: Batch) => unknown): { ms: number; from: number } {
  const it = epochBatches(mnist.train, { batchSize: 128, seed: 1 })[Symbol.iterator]()
  let sink = 0
  const value = (r: unknown) => (typeof r === 'number' ? r : (r as { loss: number }).loss)
  sink += value(f(net.params, it.next().value as Batch))
  const t0 = now()
  const from = performance.now()
  for (let k = 1; k < steps; k++) sink += value(f(net.params, it.next().value as Batch))
  const ms = (now() - t0) / (steps - 1)
  if (!Number.isFinite(sink)) throw new Error('wholeStep: a call: not finite')
  return { ms, from }
}

async function wholeStep(make: () => Step): Promise<{ ms: number; evals: number; from: number }> {
  const batches = epochBatches(mnist.train, { batchSize: 128, seed: 1 })
  let t1 = NaN // after the first step: the run's warm-up
  let from = NaN
  const s = await lastValueFrom(
    train({
      params: net.params,
      step: make(),
      data: { [Symbol.iterator]: () => batches[Symbol.iterator]() },
    }).pipe(
      maxSteps(steps),
      tap((x) => x.step === 1 && ((t1 = now()), (from = performance.now()))),
      last(),
    ),
  )
  return { ms: (now() - t1) / (steps - 1), evals: s.evaluations / steps, from }
}

// the optimizer stage alone: a fixed random gradient, states fed back by hand
const r = rng(2)
const grad = Object.fromEntries(
  Object.entries(net.params).map(([k, v]) => [k, randn(v.shape as number[], r)]),
) as MlpParams
type Opt = OperatorFunction<WithGradient<Params>, TrainState<Params>>
const stages: Record<string, () => Opt> = {
  sgd: () => sgd(0.05) as Opt,
  scheduleFreeSgd: () => scheduleFreeSgd(0.05) as Opt,
  adamw: () => adamw(1e-3, { b1: 0, weightDecay: 0 }) as Opt,
  scheduleFreeAdamw: () => scheduleFreeAdamw(1e-3) as Opt,
  adam: () => adam(1e-3) as Opt,
  'multiSteps(4, adam)': () => multiSteps(4, adam(1e-3)) as Opt,
}
function stage(make: () => Opt): number {
  const op = make()
  let s: TrainState<Params> = {
    ...{ step: 0, params: net.params, loss: 0, grad: null, lr: NaN, opt: {}, hyper: {} },
    ...{ evaluations: 0, rng: { words: [1, 2, 3, 4], spare: null }, history: [], metrics: {} },
  }
  const n = 4 * steps
  const t0 = now()
  for (let k = 0; k < n; k++) {
    of({ ...s, grad, updates: grad, baseLoss: 0 })
      .pipe(op)
      .subscribe((x) => (s = x))
  }
  return (now() - t0) / n
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
/** `xs` in round `k`'s order: a shuffle seeded by k (Fisher–Yates, a small LCG). */
const shuffled = <T>(xs: T[], k: number) => {
  const out = [...xs]
  let seed = (k + 1) * 2654435761
  for (let i = out.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
    const j = seed % (i + 1)
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}
const wholeMs: Record<string, number[]> = {}
const evals: Record<string, number> = {}
const stageMs: Record<string, number[]> = {}
const load0 = (await import('node:os')).loadavg()[0]
// round −1 warms the JIT up (a first run is several times slower) and is not recorded
for (let round = -1; round < rounds; round++) {
  for (const name of shuffled([...Object.keys(whole), 'loss f', 'grad'], round + 1)) {
    const run =
      name === 'loss f'
        ? { ...calls(lossOf), evals: 1 }
        : name === 'grad'
          ? { ...calls(fg), evals: 1 }
          : await wholeStep(whole[name])
    if (round >= 0) (wholeMs[name] ??= []).push(run.ms)
    if (round >= 0) spans.push({ name, from: run.from, to: performance.now() })
    evals[name] = run.evals
  }
  for (const name of shuffled(Object.keys(stages), round + 1)) {
    const ms = stage(stages[name])
    if (round >= 0) (stageMs[name] ??= []).push(ms)
  }
}
const load1 = (await import('node:os')).loadavg()[0]
const pairs: [string, string][] = [
  ['sam+sgd', 'sgd'],
  ['scheduleFreeSgd', 'sgd'],
  ['sgd(1)+linesearch', 'sgd'],
  ['scheduleFreeAdamw', 'adamw'],
  ['multiSteps(4, adam)', 'adam'],
]
console.log(
  `${new Date().toISOString().slice(0, 16)} UTC, load ${load0.toFixed(1)} → ${load1.toFixed(1)}, ${rounds} rounds × ${steps} steps, 235,146 parameters, ${cpu ? 'CPU' : 'wall'} time`,
)
console.log(
  '| wrapper | vs | step ms, median (wrapper / plain) | ratio | per-round ratio, median [range] | ratio of totals | evaluations/step | stage ms, median (wrapper / plain) | ratio | min ratio |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
const min = (xs: number[]) => Math.min(...xs)
const max = (xs: number[]) => Math.max(...xs)
/** per round, the wrapper's time over the plain one's (`plain`: that round's denominator) */
const perRound = (w: string, plain: (r: number) => number) => {
  const rs = wholeMs[w].map((ms, r) => ms / plain(r))
  return `${median(rs).toFixed(2)}× [${min(rs).toFixed(2)}–${max(rs).toFixed(2)}]`
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
/** the wrapper's total over all rounds, over the plain one's (`plain`: a round's denominator) */
const totals = (w: string, plain: (r: number) => number) =>
  `${(sum(wholeMs[w]) / sum(wholeMs[w].map((_, r) => plain(r)))).toFixed(2)}×`
const cell = (xs: Record<string, number[]>, w: string, p: string) => {
  if (!xs[w] || !xs[p]) return '— | — | —'
  const [a, b] = [median(xs[w]), median(xs[p])]
  return `${a.toFixed(2)} / ${b.toFixed(2)} | ${(a / b).toFixed(2)}× | ${(min(xs[w]) / min(xs[p])).toFixed(2)}×`
}
for (const [w, p] of pairs) {
  const [a, b] = [median(wholeMs[w]), median(wholeMs[p])]
  const round = perRound(w, (r) => wholeMs[p][r])
  console.log(
    `| ${w} | ${p} | ${a.toFixed(2)} / ${b.toFixed(2)} | ${(a / b).toFixed(2)}× | ${round} | ${totals(w, (r) => wholeMs[p][r])} | ${evals[w].toFixed(2)} | ${cell(stageMs, w, p)} |`,
  )
}
// SAM against one extra gradient: sgd's step plus one gradient call
const samName = 'sam+sgd'
const oneMore = (r: number) => wholeMs.sgd[r] + wholeMs.grad[r]
const samBudget = median(wholeMs.sgd) + median(wholeMs.grad)
console.log(
  `| ${samName} | sgd + grad (${median(wholeMs.grad).toFixed(2)} ms) | ${median(wholeMs[samName]).toFixed(2)} / ${samBudget.toFixed(2)} | ${(median(wholeMs[samName]) / samBudget).toFixed(2)}× | ${perRound(samName, oneMore)} | ${totals(samName, oneMore)} | ${evals[samName].toFixed(2)} | — | — | — |`,
)
// the line search against its budget: the inner step plus n loss-only evaluations
const ls = 'sgd(1)+linesearch'
const n = evals[ls] - evals.sgd
const budget = median(wholeMs.sgd) + n * median(wholeMs['loss f'])
const lsBudget = (r: number) => wholeMs.sgd[r] + n * wholeMs['loss f'][r]
console.log(
  `| ${ls} | sgd + ${n.toFixed(2)} × loss f (${median(wholeMs['loss f']).toFixed(2)} ms) | ${median(wholeMs[ls]).toFixed(2)} / ${budget.toFixed(2)} | ${(median(wholeMs[ls]) / budget).toFixed(2)}× | ${perRound(ls, lsBudget)} | ${totals(ls, lsBudget)} | ${evals[ls].toFixed(2)} | — | — | — |`,
)
if (gcObserver !== null) {
  await new Promise((r) => setTimeout(r, 10)) // the observer's last entries
  gcObserver.disconnect()
  const per = [...Object.keys(whole), 'loss f', 'grad'].map((name) => {
    const mine = spans.filter((x) => x.name === name)
    const gcs = fullGcs.filter((g) => mine.some((x) => g.start >= x.from && g.start < x.to))
    const timed = mine.length * (steps - 1)
    const ms = gcs.reduce((a, g) => a + g.ms, 0)
    return `${name} ${((100 * gcs.length) / timed).toFixed(1)} (${(ms / timed).toFixed(2)} ms)`
  })
  console.log(`full collections per 100 timed steps (their ms a step): ${per.join(', ')}`)
}
