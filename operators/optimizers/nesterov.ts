import type { Hyperparam } from '../hyperparamInternals.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { scaleByNesterov } from '../transforms/scaleByNesterov.js'
import { type Optimizer, optimizer } from './optimizerInternals.js'

/**
 * Nesterov momentum as torch.optim.SGD(momentum=β, nesterov=True) and optax's
 * `sgd(nesterov=True)`: v ← β·v + g, θ ← θ − η·(g + β·v). It is
 * `pipe(scaleByNesterov(beta), scaleByLearningRate(lr), applyUpdates())`. (The book's
 * `Nesterov` class uses another parametrisation and is not reproduced.)
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { gradient, nesterov } from 'gradstream/operators'
 *
 * train({ params: [-7, 2], step: pipe(gradient(([x, y]) => [x / 10, 2 * y]), nesterov(0.1)) })
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param beta β in [0, 1), default 0.9
 * @throws {RangeError} `scaleByNesterov: beta: expected a number in [0, 1), got 1`
 * @see momentum
 */
export function nesterov(lr: Hyperparam, beta: Hyperparam = 0.9): Optimizer {
  return optimizer('nesterov', scaleByNesterov(beta), scaleByLearningRate(lr))
}
