/// <reference lib="webworker" />
// Trains a two-layer net on the MNIST subset inside a Web Worker, so the page's main thread
// never runs a step: the page starts it with `trainInWorker(…)` and steers it with
// pause / resume / stop / setLr; this module is the other half (`exposeTraining`).
//
// Besides each state, a posted message carries what the page draws and cannot cheaply compute:
// every loss since the previous message (`losses`, so the page holds the whole curve bit for
// bit), at each evaluation the confusion matrix and the most confidently wrong test digits
// (`evaluation`), and, when the run pauses or ends, the state as gradstream's checkpoint JSON
// (`checkpoint`), which the page downloads and can open later to resume.
import {
  filter,
  from,
  map,
  merge,
  pipe,
  share,
  startWith,
  switchMap,
  takeLast,
  takeUntil,
  takeWhile,
  tap,
  type Observable,
} from 'rxjs'
import {
  ad,
  checkpoint,
  chunked,
  globalNorm,
  exposeTraining,
  pausable,
  randomBatches,
  resume,
  train,
  twoLayerNet,
  valueAndGrad,
  type Tensor,
  type TrainState,
  type TwoLayerParams,
  type Var,
} from 'gradstream'
import { evaluateEvery, gradient } from 'gradstream/operators'
import { loadPart } from './mnistData.js'
import { optimizers, type MnistSettings } from './settings.js'

export interface MnistConfig extends MnistSettings {
  readonly base: string
  /** measure train/test accuracy every this many steps */
  readonly evalEvery: number
  /** a checkpoint's JSON to continue from (the same settings it was made with) */
  readonly checkpoint?: string
}

/** A wrong test digit: its index in the test set, true label, guess and the guess's probability. */
export interface WrongDigit {
  readonly index: number
  readonly label: number
  readonly guess: number
  readonly p: number
}

export interface Evaluation {
  readonly step: number
  /** row = true digit, column = guess; row-major 10×10; sums to the test set's size */
  readonly confusion: readonly number[]
  /** the most confidently wrong test digits, most confident first */
  readonly wrong: readonly WrongDigit[]
}

/** What the page receives: a state (its gradient and optimizer slots left here) and extras. */
export type MnistFrame = TrainState<TwoLayerParams> & {
  /** the loss of every step from `lossesFrom` up to this state's step, in order */
  readonly losses: readonly number[]
  readonly lossesFrom: number
  readonly evaluation?: Evaluation
  readonly checkpoint?: string
}

type Batch = { readonly x: Tensor; readonly t: Tensor }
type State = TrainState<TwoLayerParams>

const WRONG = 10

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
      const step = pipe(
        gradient((p: TwoLayerParams, b: Batch) => {
          const { value, grad } = lossAndGrad(p, b)
          return { loss: value, grad }
        }),
        optimizers[config.optimizer](lr$.pipe(startWith(config.lr))),
      )
      const data = randomBatches(trainSet, { batchSize: config.batch, seed: config.seed })
      // one step per macrotask: pause, resume, stop and lr messages are read between steps
      const mode = pausable(paused$, chunked({ steps: 1 }))
      const run$ =
        config.checkpoint !== undefined
          ? // resume skips the batches the run already drew, so the stream goes on bit for bit
            resume<TwoLayerParams, Batch>(config.checkpoint, { step, data, mode })
          : train<TwoLayerParams, Batch>({
              params: net.params,
              data,
              seed: config.seed,
              step,
              mode,
            })

      // train accuracy on the first 1,000 training examples (all 10,000 would slow the run)
      const probe = Math.min(1000, trainSet.x.shape[0])
      const trainProbe = { x: firstRows(trainSet.x, probe), t: firstRows(trainSet.t, probe) }
      let evaluation: Evaluation | undefined
      const evaluate = (s: State) => {
        evaluation = evaluateTest(net.predict(s.params, testSet.x), testSet.labels, s.step)
        return {
          testAcc:
            evaluation.confusion.filter((_, k) => k % 11 === 0).reduce((a, b) => a + b, 0) /
            testSet.labels.length,
          trainAcc: net.accuracy(s.params, trainProbe.x, trainProbe.t),
        }
      }

      let latest: State | undefined
      // the state as the loop carries it to the next step, before this page's measurements: what
      // a checkpoint keeps, so that a run resumed from it goes on as the uninterrupted one (a
      // measured state's metrics would otherwise ride along in every later state)
      let carried: State | undefined
      const states$ = run$.pipe(
        tap((s) => (carried = s)),
        evaluateEvery({ steps: config.evalEvery }, evaluate),
        takeWhile((s) => s.step < config.steps, true),
        tap((s) => (latest = s)),
        share(),
      )
      // a paused run posts its state as a checkpoint (the page's "download checkpoint")
      const onPause$ = paused$.pipe(
        filter((p) => p && latest !== undefined),
        map(() => latest!),
        takeUntil(states$.pipe(takeLast(1))),
      )
      const sizes = { trainSize: trainSet.x.shape[0], testSize: testSet.x.shape[0] }
      const kept = (s: State) => (carried?.step === s.step ? carried : s)
      return merge(states$, onPause$).pipe(frames(config, sizes, () => evaluation, kept))
    }),
  ),
)

/**
 * What the page draws, and no more (every message is decoded on the page's main thread): at most
 * one state per 100 ms, plus every measured one, the last and the paused one, each carrying the
 * losses since the previous message; the gradient becomes its norm and the optimizer's moments
 * stay here (except inside a checkpoint).
 */
function frames(
  config: MnistConfig,
  sizes: { readonly trainSize: number; readonly testSize: number },
  evaluation: () => Evaluation | undefined,
  kept: (s: State) => State,
) {
  let lastPost = -Infinity
  let pending: number[] = []
  let pendingFrom = 0
  let lastStep = -1
  // the last 100 losses, as the command line records them (a resumed run starts from the
  // record it was opened with: the restored state's own loss is its last entry)
  const opened = config.checkpoint !== undefined ? runRecordOf(config.checkpoint) : undefined
  const recent: number[] = [...(opened?.recentLosses ?? [])]
  const restoredStep = opened !== undefined ? opened.step : -1
  return (states$: Observable<State>): Observable<MnistFrame> =>
    states$.pipe(
      map((s) => {
        // a state seen twice is the paused one, posted again with its checkpoint
        const again = s.step === lastStep
        if (!again) {
          if (pending.length === 0) pendingFrom = s.step
          pending.push(s.loss)
          lastStep = s.step
          if (s.step > 0 && s.step !== restoredStep) recent.push(s.loss)
          if (recent.length > 100) recent.shift()
        }
        const now = performance.now()
        const measured = s.step % config.evalEvery === 0
        const last = s.step >= config.steps
        if (!(again || measured || last || now - lastPost >= 100)) return null
        lastPost = now
        const e = evaluation()
        const frame: MnistFrame = {
          ...s,
          grad: null,
          opt: {},
          metrics: { ...s.metrics, gradNorm: s.grad ? globalNorm(s.grad) : 0 },
          losses: pending,
          lossesFrom: pendingFrom,
          ...(measured && e?.step === s.step ? { evaluation: e } : {}),
          ...(again || last
            ? { checkpoint: withRun(checkpoint(kept(s)), config, sizes, s, recent) }
            : {}),
        }
        pending = []
        return frame
      }),
      filter((f): f is MnistFrame => f !== null),
    )
}

/**
 * The checkpoint with the envelope's `run` record, as `gradstream train mnist --checkpoint`
 * writes it (`withRunRecord` in src/cli/checkpointing.ts, a Node module): the flags that shape
 * the run, so `gradstream train mnist --resume file.json` continues it with this page's settings
 * (on the same 10,000 / 1,000 digits), and the last losses, for its running mean.
 */
function withRun(
  json: string,
  config: MnistConfig,
  sizes: { readonly trainSize: number; readonly testSize: number },
  s: State,
  recent: readonly number[],
): string {
  const run = {
    config: {
      hidden: config.hidden,
      batch: config.batch,
      lr: Number.isFinite(s.lr) ? s.lr : config.lr,
      optimizer: config.optimizer,
      seed: config.seed,
      sampler: 'random',
      trainSize: sizes.trainSize,
      testSize: sizes.testSize,
      init: null,
      activation: null,
      layers: null,
      rho: null,
      b1: null,
      warmup: null,
      accumulate: null,
    },
    recentLosses: recent.map((l) => (Number.isFinite(l) ? l : null)),
  }
  return `${json.slice(0, -1)},"run":${JSON.stringify(run)}}`
}

/** The step and recorded losses of a checkpoint's JSON (no record: none). */
function runRecordOf(json: string): { step: number; recentLosses: number[] } {
  const env = JSON.parse(json) as {
    state?: { step?: unknown }
    run?: { recentLosses?: unknown }
  }
  const losses = env.run?.recentLosses
  return {
    step: typeof env.state?.step === 'number' ? env.state.step : -1,
    recentLosses: Array.isArray(losses) ? losses.map((l) => (typeof l === 'number' ? l : NaN)) : [],
  }
}

/** Confusion matrix and the most confidently wrong digits from the test set's probabilities. */
function evaluateTest(probs: Tensor, labels: Uint8Array, step: number): Evaluation {
  const confusion = new Array<number>(100).fill(0)
  const wrong: WrongDigit[] = []
  for (let i = 0; i < labels.length; i++) {
    let guess = 0
    for (let j = 1; j < 10; j++) if (probs.data[i * 10 + j] > probs.data[i * 10 + guess]) guess = j
    confusion[labels[i] * 10 + guess]++
    if (guess !== labels[i]) {
      wrong.push({ index: i, label: labels[i], guess, p: probs.data[i * 10 + guess] })
    }
  }
  wrong.sort((a, b) => b.p - a.p)
  return { step, confusion, wrong: wrong.slice(0, WRONG) }
}

function firstRows(t: Tensor, n: number): Tensor {
  const w = t.shape[1]
  return { shape: [n, w], data: t.data.slice(0, n * w) }
}
