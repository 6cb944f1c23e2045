// A page that trains in the browser: an mlp on a small synthetic problem, minibatches from
// randomBatches, the gradient from the reverse-mode tape, Adam, and a stopping rule.
import { last, pipe } from 'rxjs'
import {
  mlp,
  randn,
  randomBatches,
  rng,
  tensor,
  train,
  type Batch,
  type MlpParams,
} from 'gradstream'
import { adam, gradient, maxSteps } from 'gradstream/operators'

const net = mlp({ sizes: [4, 8, 2], activation: 'relu', init: 'he', seed: 1 })
const x = randn([64, 4], rng(2))
const t = tensor(Array.from({ length: 64 }, (_, i) => (x.data[4 * i] > 0 ? [1, 0] : [0, 1])))
const batches = randomBatches({ x, t }, { batchSize: 16, seed: 3 })
const out = document.getElementById('out')!

train({
  params: net.params,
  data: { [Symbol.iterator]: () => batches[Symbol.iterator]() },
  step: pipe(
    gradient<MlpParams, Batch>((p, b) => net.lossAndGradient(p, b.x, b.t)),
    adam(0.01),
  ),
})
  .pipe(maxSteps(200), last())
  .subscribe((s) => (out.textContent = `step ${s.step}: loss ${s.loss.toFixed(4)}`))
