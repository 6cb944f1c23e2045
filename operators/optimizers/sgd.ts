import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * Plain gradient descent, the book's `SGD`: θ ← θ − η·g. It is
 * `pipe(scaleByLearningRate(lr), applyUpdates())`, and bit for bit the book's update.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { sgd, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps;
 * // the book's SGD ends exactly here
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), sgd(0.95)) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ -0.3503929957523197, 0.0847823165504322 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @throws {RangeError} `sgd: lr: expected a positive finite number, got -0.1`
 * @see momentum, adam
 */
export function sgd(lr: Hyperparam): Optimizer {
  checkLr('sgd', lr)
  return optimizer('sgd', scaleByLearningRate(lr))
}
