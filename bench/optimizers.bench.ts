// The optimizer stages' cost per step on a TwoLayerNet-sized tree (784–50–10: 39,760
// parameters) against hand-written fused Float64Array loops doing the same arithmetic in
// place, measured in the same run, interleaved, median of 5 rounds. Prints ratios; asserts
// nothing. (Not a W1–W5 workload: `npm run bench` skips it.)
//
//   npx tsx bench/optimizers.bench.ts
//
// The gap is the price of immutable states: each stage allocates its outputs (a new
// Float64Array per leaf and output) and the stages run as separate passes (Adam: moments and
// update in one pass, then −η·u, then θ + u), where the hand loop updates θ, m, v in place.
import { of, type OperatorFunction } from 'rxjs'
import { type Params, randn, rng, type TrainState, type WithGradient, zeros } from 'gradstream'
import { adam, momentum, sgd } from 'gradstream/operators'

const r = rng(1)
const tree = () => ({
  W1: randn([784, 50], r),
  b1: zeros([50]),
  W2: randn([50, 10], r),
  b2: zeros([10]),
})
const params = tree()
const grad = tree()
const n = 784 * 50 + 50 + 50 * 10 + 10
const STEPS = 100

/** Milliseconds of this process's CPU time (user + system): less swayed by other jobs' load. */
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function stage(op: OperatorFunction<WithGradient<Params>, TrainState<Params>>): {
  wall: number
  cpu: number
} {
  let s: TrainState<Params> = {
    ...{ step: 0, params, loss: 0, grad: null, lr: NaN, opt: {}, hyper: {}, evaluations: 0 },
    ...{ rng: { words: [1, 2, 3, 4], spare: null }, history: [], metrics: {} },
  }
  const t0 = performance.now()
  const c0 = cpuMs()
  for (let k = 0; k < STEPS; k++) {
    of({ ...s, grad, updates: grad, baseLoss: 0 })
      .pipe(op)
      .subscribe((x) => (s = x))
  }
  return { wall: (performance.now() - t0) / STEPS, cpu: (cpuMs() - c0) / STEPS }
}

function hand(kind: 'sgd' | 'momentum' | 'adam'): number {
  const p = new Float64Array(n)
  const g = new Float64Array(n).map(() => r.normal())
  const m = new Float64Array(n)
  const v = new Float64Array(n)
  const t0 = performance.now()
  for (let t = 1; t <= STEPS; t++) {
    if (kind === 'sgd') for (let i = 0; i < n; i++) p[i] -= 1e-3 * g[i]
    else if (kind === 'momentum') {
      for (let i = 0; i < n; i++) {
        m[i] = 0.9 * m[i] - 1e-3 * g[i]
        p[i] += m[i]
      }
    } else {
      const c1 = 1 - 0.9 ** t
      const c2 = 1 - 0.999 ** t
      for (let i = 0; i < n; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i]
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
        p[i] -= 1e-3 * (m[i] / c1 / (Math.sqrt(v[i] / c2) + 1e-8))
      }
    }
  }
  return (performance.now() - t0) / STEPS
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const ops = { sgd: () => sgd(1e-3), momentum: () => momentum(1e-3), adam: () => adam(1e-3) }
const times: Record<string, { stage: number[]; cpu: number[]; hand: number[] }> = {}
for (let round = 0; round < 5; round++) {
  for (const [name, make] of Object.entries(ops)) {
    times[name] ??= { stage: [], cpu: [], hand: [] }
    const t = stage(make())
    times[name].stage.push(t.wall)
    times[name].cpu.push(t.cpu)
    times[name].hand.push(hand(name as 'sgd' | 'momentum' | 'adam'))
  }
}
console.log(`optimizer stage vs hand-written loop, ${n} parameters, ms per step (median of 5)`)
for (const [name, t] of Object.entries(times)) {
  const a = median(t.stage)
  const b = median(t.hand)
  console.log(
    `${name.padEnd(9)} stage ${a.toFixed(3)}  hand ${b.toFixed(3)}  ratio ${(a / b).toFixed(2)}×`,
  )
}
// the stage's CPU time (median, min of 5): what bench/ab.ts compares when the machine is shared
for (const [name, t] of Object.entries(times)) {
  console.log(`cpu ${name} stage ${median(t.cpu).toFixed(3)} min ${Math.min(...t.cpu).toFixed(3)}`)
}
