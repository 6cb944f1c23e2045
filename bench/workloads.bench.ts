// gradstream's side of W1, W3, W4 (fallback), W5 and W6 of `npm run bench`; each export runs one
// workload and returns { seconds (the measured work only, data loading excluded), units, …extras }.
import { last, lastValueFrom, pipe, type OperatorFunction } from 'rxjs'
import {
  getKernelThreads,
  mlp,
  numericalGradient,
  randomBatches,
  epochBatches,
  setKernelThreads,
  tensor,
  train,
  twoLayerNet,
  twoLayerNetNumericalGradient,
  type Tensor,
} from 'gradstream'
import { closeWorkers, loadMnist } from 'gradstream/node'
import { adam, gradient, maxSteps, update } from 'gradstream/operators'
// internal: the kernel update(lr) runs on each tensor, for the bare loop's identical step
import { addScaledData } from '../src/tensor/kernels/addScaledKernel.js'
// internal: how many differentiated steps ran on two threads (what 'auto' chose: W3's, W5's)
import { tapeStats } from '../src/parallel/tapeThreads.js'

const now = () => performance.now() / 1000

/** W1: the book's gradient descent on x0² + x1² from (−3, 4), lr 0.1, numerical gradient. */
export function w1({ iters = 100_000 }: { iters?: number }) {
  const f = (x: Tensor) => x.data[0] * x.data[0] + x.data[1] * x.data[1]
  let x = tensor([-3, 4])
  const t0 = now()
  for (let i = 0; i < iters; i++) {
    const g = numericalGradient(f, x)
    x = { shape: x.shape, data: x.data.map((v, j) => v - 0.1 * g.data[j]) }
  }
  return { seconds: now() - t0, units: iters, x: `${x.data[0]}, ${x.data[1]}` }
}

/**
 * W2: the numerical gradient (central differences, h = 1e-4) of TwoLayerNet's loss (784–50–10,
 * the book's cross-entropy) over all 39,760 parameters on the first 100 training images,
 * computed incrementally (twoLayerNetNumericalGradient).
 */
export function w2() {
  const mnist = loadMnist({ oneHotLabel: true, trainSize: 100, testSize: 1 })
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
  const t0 = now()
  // the book's cross-entropy (δ = 1e-7), as NumPy's peer computes it
  const g = twoLayerNetNumericalGradient(net.params, mnist.train.x, mnist.train.t, {
    loss: 'crossEntropy',
  })
  const seconds = now() - t0
  let sq = 0
  for (const t of [g.W1, g.b1, g.W2, g.b2]) for (const v of t.data) sq += v * v
  return { seconds, units: 1, gradNorm: Math.sqrt(sq) }
}

/**
 * W3: the book's training (ch. 4 train_neuralnet.py with TwoLayerNet.gradient, here a recipe over
 * the autodiff tape): 784–50–10,
 * sigmoid, SGD lr 0.1, batch 100, run through `train`, then train and test accuracy. By default
 * on gradstream's default thread setting (`'auto'`: the step measures whether two threads pay);
 * with `threads: 1` or `2`, on that many (`setKernelThreads`), set back to `'auto'` at the end.
 * `threads` in the result: the count in use at the end.
 */
export async function w3({ iters = 10_000, threads = 'auto' }: W3Options) {
  return onThreads(threads, async () => {
    const mnist = loadMnist({ oneHotLabel: true })
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
    const tape0 = tapeStats.steps
    const run = await timedTraining(
      net.params,
      net.lossAndGradient,
      randomBatches(mnist.train, { batchSize: 100, seed: 0 }),
      update(0.1),
      iters,
    )
    const t1 = now()
    const trainAcc = net.accuracy(run.params, mnist.train.x, mnist.train.t)
    const testAcc = net.accuracy(run.params, mnist.test.x, mnist.test.t)
    const evalSeconds = now() - t1
    return {
      ...run.result,
      seconds: run.result.trainSeconds + evalSeconds,
      evalSeconds,
      trainAcc,
      testAcc,
      twoThreadSteps: tapeStats.steps - tape0,
    }
  })
}

type W3Options = { iters?: number; threads?: 1 | 2 | 'auto' }

/** `fn()` on `threads` kernel threads (`'auto'`: as set), then back to `'auto'` and no workers. */
async function onThreads<R extends object>(threads: 1 | 2 | 'auto', fn: () => Promise<R>) {
  if (threads !== 'auto') setKernelThreads(threads)
  try {
    return { ...(await fn()), threads: getKernelThreads() }
  } finally {
    setKernelThreads('auto')
    await closeWorkers()
  }
}

/**
 * The timed part of W3, W5 and W6: `steps` steps of `train` with `gradient(lossAndGradient)`
 * and `optimizer`, wall and CPU time (the process's, all threads) around it alone.
 */
async function timedTraining<P extends Record<string, Tensor>>(
  params: P,
  lossAndGradient: (p: P, x: Tensor, t: Tensor) => { loss: number; grad: P },
  data: Iterable<{ x: Tensor; t: Tensor }>,
  optimizer: OperatorFunction<any, any>,
  steps: number,
) {
  const c0 = process.cpuUsage()
  const t0 = now()
  const final = await lastValueFrom(
    train({
      params,
      data,
      step: pipe(
        gradient((p: P, b: { x: Tensor; t: Tensor }) => lossAndGradient(p, b.x, b.t)),
        optimizer,
      ),
    }).pipe(maxSteps(steps), last()),
  )
  const trainSeconds = now() - t0
  const c1 = process.cpuUsage(c0)
  return {
    params: final.params as P,
    result: {
      trainSeconds,
      trainCpuSeconds: (c1.user + c1.system) / 1e6,
      units: final.step,
      msPerStep: (1000 * trainSeconds) / final.step,
      loss: final.loss,
    },
  }
}

/**
 * W3 without the stream: the same batches, the same `net.lossAndGradient`, and the same SGD
 * update kernel `update(0.1)` runs (p + a·u into new parameter tensors) — what the kernels and
 * the net deliver on their own, to compare with `w3` (through `train`).
 */
export function w3bare({ iters = 10_000 }: { iters?: number }) {
  const mnist = loadMnist({ oneHotLabel: true })
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
  const batches = randomBatches(mnist.train, { batchSize: 100, seed: 0 })[Symbol.iterator]()
  let p = net.params
  let loss = NaN
  const t0 = now()
  for (let i = 0; i < iters; i++) {
    const b = batches.next().value as { x: Tensor; t: Tensor }
    const r = net.lossAndGradient(p, b.x, b.t)
    loss = r.loss
    const next: Record<string, Tensor> = {}
    for (const k of ['W1', 'b1', 'W2', 'b2'] as const) {
      next[k] = { shape: p[k].shape, data: addScaledData(p[k].data, r.grad[k].data, -0.1) }
    }
    p = next as typeof p
  }
  const t1 = now()
  const trainAcc = net.accuracy(p, mnist.train.x, mnist.train.t)
  const testAcc = net.accuracy(p, mnist.test.x, mnist.test.t)
  const t2 = now()
  return {
    seconds: t2 - t0,
    trainSeconds: t1 - t0,
    evalSeconds: t2 - t1,
    units: iters,
    loss,
    trainAcc,
    testAcc,
  }
}

/** W5: mlp 784–256–128–10 (ReLU, He), Adam lr 0.001, batch 128, one epoch, through `train`. */
export async function w5({ iters = Infinity, threads = 'auto' }: W3Options) {
  return onThreads(threads, () => mlpAdam([784, 256, 128, 10], 128, iters))
}

/** W6: mlp 784–1024–1024–10 (ReLU, He), Adam lr 0.001, batch 256, 100 steps (ms per step). */
export async function w6({ iters = 100 }: { iters?: number }) {
  return mlpAdam([784, 1024, 1024, 10], 256, iters)
}

/**
 * W3 with `mlp({ sizes: [784, 50, 10], activation: 'sigmoid', init: 0.01 })` in place of
 * twoLayerNet: the same training on the same tape, another net's code around it.
 */
export async function w3mlp({ iters = 10_000, threads = 'auto' }: W3Options) {
  return onThreads(threads, () =>
    mlpTraining(
      { sizes: [784, 50, 10], activation: 'sigmoid', init: 0.01 },
      (mnist) => randomBatches(mnist.train, { batchSize: 100, seed: 0 }),
      update(0.1),
      iters,
    ),
  )
}

function accuracyOf(net: ReturnType<typeof mlp>, p: typeof net.params, x: Tensor, t: Tensor) {
  const y = net.predict(p, x)
  const k = y.shape[1]
  let hits = 0
  for (let i = 0; i < y.shape[0]; i++) {
    let best = 0
    let label = 0
    for (let j = 1; j < k; j++) {
      if (y.data[i * k + j] > y.data[i * k + best]) best = j
      if (t.data[i * k + j] > t.data[i * k + label]) label = j
    }
    if (best === label) hits++
  }
  return hits / y.shape[0]
}

async function mlpAdam(sizes: number[], batchSize: number, iters: number) {
  try {
    return await mlpTraining(
      { sizes },
      (mnist) => epochBatches(mnist.train, { batchSize, seed: 0 }),
      adam(0.001),
      (mnist) => Math.min(iters, Math.ceil(mnist.train.x.shape[0] / batchSize)),
    )
  } finally {
    await closeWorkers()
  }
}

type Mnist = ReturnType<typeof loadMnist>

/** An `mlp` (seed 0) trained through `timedTraining`, then its test accuracy. */
async function mlpTraining(
  config: Parameters<typeof mlp>[0],
  batches: (mnist: Mnist) => Iterable<{ x: Tensor; t: Tensor }>,
  optimizer: OperatorFunction<any, any>,
  steps: number | ((mnist: Mnist) => number),
) {
  const mnist = loadMnist({ oneHotLabel: true })
  const net = mlp({ seed: 0, ...config })
  const tape0 = tapeStats.steps
  const run = await timedTraining(
    net.params,
    net.lossAndGradient,
    batches(mnist),
    optimizer,
    typeof steps === 'number' ? steps : steps(mnist),
  )
  const t1 = now()
  const testAcc = accuracyOf(net, run.params, mnist.test.x, mnist.test.t)
  const evalSeconds = now() - t1
  return {
    ...run.result,
    seconds: run.result.trainSeconds + evalSeconds,
    evalSeconds,
    testAcc,
    twoThreadSteps: tapeStats.steps - tape0,
  }
}
