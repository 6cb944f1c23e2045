// adabelief's step against adam's on W5's mlp tree (784–256–128–10: 235,146 parameters): the
// optimizer stage alone (a WithGradient state in, the TrainState out, one run kept open),
// interleaved, median of 7 rounds; prints ms per step and the ratio. Asserts nothing.
//
//   npx tsx bench/adabelief.bench.ts
import { type OperatorFunction, Subject } from 'rxjs'
import { type Params, randn, rng, type TrainState, type WithGradient, zeros } from 'gradstream'
import { adabelief, adam } from 'gradstream/operators'

const r = rng(1)
const tree = () => ({
  W1: randn([784, 256], r),
  b1: zeros([256]),
  W2: randn([256, 128], r),
  b2: zeros([128]),
  W3: randn([128, 10], r),
  b3: zeros([10]),
})
const params = tree()
const grad = tree()
const STEPS = 40

function time(op: OperatorFunction<WithGradient<Params>, TrainState<Params>>): number {
  let s = {
    ...{ step: 0, params, loss: 0, grad: null, lr: NaN, opt: {}, hyper: {}, evaluations: 0 },
    ...{ rng: { words: [1, 2, 3, 4], spare: null }, history: [], metrics: {} },
  } as TrainState<Params>
  const feed = new Subject<WithGradient<Params>>()
  const sub = feed.pipe(op).subscribe((x) => (s = x))
  const next = () => feed.next({ ...s, grad, updates: grad, baseLoss: 0 } as WithGradient<Params>)
  for (let k = 0; k < 5; k++) next()
  const t0 = performance.now()
  for (let k = 0; k < STEPS; k++) next()
  const ms = (performance.now() - t0) / STEPS
  sub.unsubscribe()
  return ms
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const t = { adam: [] as number[], adabelief: [] as number[] }
for (let round = 0; round < 7; round++) {
  t.adam.push(time(adam(1e-3) as never))
  t.adabelief.push(time(adabelief(1e-3) as never))
}
const a = median(t.adam)
const b = median(t.adabelief)
console.log(
  `235,146 parameters, ms per step (median of 7): adam ${a.toFixed(3)}  adabelief ${b.toFixed(3)}  ratio ${(b / a).toFixed(3)}`,
)
