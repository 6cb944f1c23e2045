/// <reference lib="webworker" />
// Trains a two-layer net on the MNIST subset inside a Web Worker, so the page's main thread
// never runs a step: the page starts it with `trainInWorker(…)` and steers it with
// pause / resume / stop / setLr; this module is the other half (`exposeTraining`).
import { filter, from, map, pipe, startWith, switchMap, takeWhile } from 'rxjs'
import {
  ad,
  chunked,
  globalNorm,
  exposeTraining,
  pausable,
  randomBatches,
  train,
  twoLayerNet,
  valueAndGrad,
  type Tensor,
  type TwoLayerParams,
  type Var,
} from 'gradstream'
import { adam, evaluateEvery, gradient, sgd } from 'gradstream/operators'
import { loadPart } from './mnistData.js'

export interface MnistConfig {
  readonly base: string
  readonly hidden: number
  readonly batch: number
  readonly lr: number
  readonly optimizer: 'adam' | 'sgd'
  readonly seed: number
  /** measure train/test accuracy every this many steps */
  readonly evalEvery: number
  readonly maxSteps: number
}

type Batch = { readonly x: Tensor; readonly t: Tensor }

exposeTraining((config: MnistConfig, { lr$, paused$ }) =>
  from(Promise.all([loadPart(config.base, 'train'), loadPart(config.base, 'test')])).pipe(
    switchMap(([trainSet, testSet]) => {
      const net = twoLayerNet({
        inputSize: 784,
        hiddenSize: config.hidden,
        outputSize: 10,
        loss: 'softmaxCrossEntropy',
        seed: config.seed,
      })
      // the book's TwoLayerNet written with the autodiff ops: backprop gives the gradient
      const lossAndGrad = valueAndGrad((p: Record<keyof TwoLayerParams, Var>, b: Batch) =>
        ad.softmaxCrossEntropy(
          ad.add(ad.matmul(ad.sigmoid(ad.add(ad.matmul(b.x, p.W1), p.b1)), p.W2), p.b2),
          b.t,
        ),
      )
      const lr = lr$.pipe(startWith(config.lr))
      let lastPost = -Infinity
      // train accuracy on the first 1,000 training examples (all 10,000 would slow the run)
      const probe = Math.min(1000, trainSet.x.shape[0])
      const trainProbe = { x: firstRows(trainSet.x, probe), t: firstRows(trainSet.t, probe) }
      return train({
        params: net.params,
        data: randomBatches(trainSet, { batchSize: config.batch, seed: config.seed }),
        seed: config.seed,
        step: pipe(
          gradient((p: TwoLayerParams, b: Batch) => {
            const { value, grad } = lossAndGrad(p, b)
            return { loss: value, grad }
          }),
          config.optimizer === 'adam' ? adam(lr) : sgd(lr),
        ),
        // one step per macrotask: pause, resume, stop and lr messages are read between steps
        mode: pausable(paused$, chunked({ steps: 1 })),
      }).pipe(
        evaluateEvery({ steps: config.evalEvery }, (s) => ({
          testAcc: net.accuracy(s.params, testSet.x, testSet.t),
          trainAcc: net.accuracy(s.params, trainProbe.x, trainProbe.t),
        })),
        takeWhile((s) => s.step < config.maxSteps, true),
        // what the page draws, and no more (every message is decoded on the page's main thread):
        // at most one state per 50 ms, plus every measured one and the last; the gradient becomes
        // its norm and the optimizer's moments stay here
        filter((s) => {
          const now = performance.now()
          const keep =
            s.step % config.evalEvery === 0 || s.step >= config.maxSteps || now - lastPost >= 50
          if (keep) lastPost = now
          return keep
        }),
        map((s) => ({
          ...s,
          grad: null,
          opt: {},
          metrics: { ...s.metrics, gradNorm: s.grad ? globalNorm(s.grad) : 0 },
        })),
      )
    }),
  ),
)

function firstRows(t: Tensor, n: number): Tensor {
  const w = t.shape[1]
  return { shape: [n, w], data: t.data.slice(0, n * w) }
}
