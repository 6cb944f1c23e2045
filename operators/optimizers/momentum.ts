import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { scaleByMomentum } from '../transforms/scaleByMomentum.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * The book's `Momentum` (heavy ball): v ← β·v − η·g, θ ← θ + v, bit for bit; it is
 * `pipe(scaleByLearningRate(lr), scaleByMomentum(beta), applyUpdates())`. For a constant η
 * this equals torch.optim.SGD(momentum=β) (v ← β·v + g, θ ← θ − η·v) up to rounding; with a
 * schedule, η here scales each gradient as it arrives (torch's form is
 * `pipe(scaleByMomentum(beta), scaleByLearningRate(lr), applyUpdates())`).
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { momentum, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps;
 * // the book's Momentum ends exactly here
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), momentum(0.1, 0.9)) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ 0.896413858493733, 0.08808560171506971 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param beta β in [0, 1), default 0.9
 * @throws {RangeError} `scaleByMomentum: beta: expected a number in [0, 1), got 1`
 * @see nesterov, sgd
 */
export function momentum(lr: Hyperparam, beta: Hyperparam = 0.9): Optimizer {
  checkLr('momentum', lr)
  return optimizer('momentum', scaleByLearningRate(lr), scaleByMomentum(beta))
}
