import type { Hyperparam } from '../hyperparamInternals.js'
import { scaleByAdagrad } from '../transforms/scaleByAdagrad.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { type Optimizer, optimizer } from './optimizerInternals.js'

/**
 * AdaGrad as torch.optim.Adagrad (lr_decay 0, weight_decay 0) and the book's `AdaGrad` compute
 * it: h ← h + g², θ ← θ − η·g / (√h + ε). It is
 * `pipe(scaleByAdagrad(eps), scaleByLearningRate(lr), applyUpdates())`.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { adagrad, gradient } from 'gradstream/operators'
 *
 * // the book's ch. 6 setting (ε = 1e-7 as in common/optimizer.py)
 * train({ params: [-7, 2], step: pipe(gradient(([x, y]) => [x / 10, 2 * y]), adagrad(1.5, 1e-7)) })
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param eps ε ≥ 0, default 1e-10 (torch's; the book's is 1e-7)
 * @throws {RangeError} `scaleByAdagrad: eps: expected a non-negative finite number, got -1`
 * @see rmsprop, adam
 */
export function adagrad(lr: Hyperparam, eps: Hyperparam = 1e-10): Optimizer {
  return optimizer('adagrad', scaleByAdagrad(eps), scaleByLearningRate(lr))
}
