import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { scaleByNesterov } from '../transforms/scaleByNesterov.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * Nesterov momentum as torch.optim.SGD(momentum=β, nesterov=True) and optax's
 * `sgd(nesterov=True)`: v ← β·v + g, θ ← θ − η·(g + β·v). It is
 * `pipe(scaleByNesterov(beta), scaleByLearningRate(lr), applyUpdates())`. (The book's
 * `Nesterov` class uses another parametrisation and is not reproduced.)
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { nesterov, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), nesterov(0.1, 0.9)) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ 0.6896149016966202, -0.000679905836117203 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param beta β in [0, 1), default 0.9
 * @throws {RangeError} `scaleByNesterov: beta: expected a number in [0, 1), got 1`
 * @see momentum
 */
export function nesterov(lr: Hyperparam, beta: Hyperparam = 0.9): Optimizer {
  checkLr('nesterov', lr)
  return optimizer('nesterov', scaleByNesterov(beta), scaleByLearningRate(lr))
}
