/// <reference lib="webworker" />
// Trains a small mlp on the person's own table (parsed and standardised on the page) in a Web
// Worker: the other half of the Your data page's `trainInWorker(…)`.
import { filter, map, pipe, startWith, takeWhile } from 'rxjs'
import {
  chunked,
  exposeTraining,
  fromData,
  mlp,
  oneHot,
  pausable,
  randomBatches,
  train,
  type MlpParams,
  type Tensor,
} from 'gradstream'
import { evaluateEvery, gradient } from 'gradstream/operators'
import { optimizers, type OptimizerName } from '../mnist/settings.js'

export interface DataConfig {
  /** n × d standardised features, row-major */
  readonly x: Float64Array
  readonly n: number
  readonly d: number
  /** class index per row */
  readonly y: Int32Array
  readonly classes: number
  /** hidden layer widths */
  readonly hidden: readonly number[]
  readonly activation: 'relu' | 'tanh' | 'sigmoid'
  readonly optimizer: OptimizerName
  readonly lr: number
  readonly batch: number
  readonly seed: number
  readonly steps: number
}

type Batch = { readonly x: Tensor; readonly t: Tensor }

exposeTraining((config: DataConfig, { lr$, paused$ }) => {
  const net = mlp({
    sizes: [config.d, ...config.hidden, config.classes],
    activation: config.activation,
    seed: config.seed,
  })
  const all = { x: fromData([config.n, config.d], config.x), t: oneHot(config.y, config.classes) }
  let lastPost = -Infinity
  return train<MlpParams, Batch>({
    params: net.params,
    data: randomBatches(all, { batchSize: Math.min(config.batch, config.n), seed: config.seed }),
    seed: config.seed,
    step: pipe(
      gradient((p: MlpParams, b: Batch) => net.lossAndGradient(p, b.x, b.t)),
      optimizers[config.optimizer](lr$.pipe(startWith(config.lr))),
    ),
    mode: pausable(paused$, chunked({ steps: 4 })),
  }).pipe(
    evaluateEvery({ steps: 20 }, (s) => ({ accuracy: accuracyOf(net, s.params, all) })),
    takeWhile((s) => s.step < config.steps, true),
    // at most one state per 50 ms (and every measured one) reaches the page, without its slots
    filter((s) => {
      const now = performance.now()
      const keep = s.step % 20 === 0 || s.step >= config.steps || now - lastPost >= 50
      if (keep) lastPost = now
      return keep
    }),
    map((s) => ({ ...s, grad: null, opt: {} })),
  )
})

function accuracyOf(net: ReturnType<typeof mlp>, p: MlpParams, all: Batch): number {
  const y = net.logits(p, all.x)
  const k = y.shape[1]
  let right = 0
  for (let i = 0; i < y.shape[0]; i++) {
    let best = 0
    for (let j = 1; j < k; j++) if (y.data[i * k + j] > y.data[i * k + best]) best = j
    if (all.t.data[i * k + best] === 1) right++
  }
  return right / y.shape[0]
}
