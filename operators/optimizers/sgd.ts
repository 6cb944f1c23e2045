import type { Hyperparam } from '../hyperparamInternals.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { type Optimizer, optimizer } from './optimizerInternals.js'

/**
 * Plain gradient descent, the book's `SGD`: θ ← θ − η·g. It is
 * `pipe(scaleByLearningRate(lr), applyUpdates())`, and bit for bit the book's update.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { gradient, sgd } from 'gradstream/operators'
 *
 * train({ params: [-3, 4], step: pipe(gradient(([x, y]) => [2 * x, 2 * y]), sgd(0.1)) })
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @throws {RangeError} `scaleByLearningRate: lr: expected a positive finite number, got -0.1`
 * @see momentum, adam
 */
export function sgd(lr: Hyperparam): Optimizer {
  return optimizer('sgd', scaleByLearningRate(lr))
}
