// The MNIST page's settings: what a person picks in the page, kept in the URL
// (`#/mnist?opt=adam&lr=0.005&hidden=50&batch=100&seed=1`) so that a link reproduces the run.
import { adagrad, adam, adamw, lion, momentum, nesterov, rmsprop, sgd } from 'gradstream/operators'
import type { Observable } from 'rxjs'

/** The optimizers the page offers, each read from gradstream's operators with the page's lr. */
export const optimizers = {
  sgd: (lr: Observable<number>) => sgd(lr),
  momentum: (lr: Observable<number>) => momentum(lr),
  nesterov: (lr: Observable<number>) => nesterov(lr),
  rmsprop: (lr: Observable<number>) => rmsprop(lr),
  adagrad: (lr: Observable<number>) => adagrad(lr),
  adam: (lr: Observable<number>) => adam(lr),
  adamw: (lr: Observable<number>) => adamw(lr),
  lion: (lr: Observable<number>) => lion(lr),
} as const
export type OptimizerName = keyof typeof optimizers
export const optimizerNames = Object.keys(optimizers) as OptimizerName[]

export const hiddenSizes = [16, 32, 50, 100] as const
export const batchSizes = [32, 64, 100, 200] as const

export interface MnistSettings {
  readonly optimizer: OptimizerName
  readonly lr: number
  readonly hidden: number
  readonly batch: number
  readonly seed: number
  /** stop after this many steps */
  readonly steps: number
}

export const defaults: MnistSettings = {
  optimizer: 'adam',
  lr: 0.005,
  hidden: 50,
  batch: 100,
  seed: 1,
  steps: 2000,
}

const int = (v: string | null, lo: number, hi: number, fallback: number) => {
  const n = Number(v)
  return v !== null && Number.isInteger(n) && n >= lo && n <= hi ? n : fallback
}

/** The settings in the page's hash (`#/mnist?…`); anything missing or malformed is the default. */
export function readSettings(hash: string = location.hash): MnistSettings {
  const q = new URLSearchParams(hash.split('?')[1] ?? '')
  const opt = q.get('opt')
  const lr = Number(q.get('lr'))
  return {
    optimizer: opt !== null && opt in optimizers ? (opt as OptimizerName) : defaults.optimizer,
    lr: q.get('lr') !== null && Number.isFinite(lr) && lr > 0 && lr <= 1 ? lr : defaults.lr,
    hidden: int(q.get('hidden'), 1, 200, defaults.hidden),
    batch: int(q.get('batch'), 1, 1000, defaults.batch),
    seed: int(q.get('seed'), 0, 2 ** 31 - 1, defaults.seed),
    steps: int(q.get('steps'), 1, 100_000, defaults.steps),
  }
}

/** The hash that reproduces `s` (written with `history.replaceState`, so Back is not flooded). */
export function settingsHash(s: MnistSettings): string {
  const q = new URLSearchParams({
    opt: s.optimizer,
    lr: String(s.lr),
    hidden: String(s.hidden),
    batch: String(s.batch),
    seed: String(s.seed),
    steps: String(s.steps),
  })
  return `#/mnist?${q}`
}

/**
 * Which of the page's optimizers wrote a checkpoint, from the hyperparameters it records
 * (`scaleByAdam.b1`, `addDecayedWeights.weightDecay`, …); undefined if none matches.
 */
export function optimizerOf(hyper: { readonly [name: string]: number }): OptimizerName | undefined {
  const has = (prefix: string) => Object.keys(hyper).some((k) => k.startsWith(`${prefix}.`))
  if (has('scaleByLion')) return 'lion'
  if (has('scaleByAdam')) return has('addDecayedWeights') ? 'adamw' : 'adam'
  if (has('scaleByAdagrad')) return 'adagrad'
  if (has('scaleByRms')) return 'rmsprop'
  if (has('scaleByNesterov')) return 'nesterov'
  if (has('scaleByMomentum')) return 'momentum'
  if (has('scaleByLearningRate')) return 'sgd'
  return undefined
}
