import type { Observable } from 'rxjs'
import type { TrainState, WithGradient } from '../src/state/types.js'
import type { Params } from '../src/tree/tree.js'
import type { Hyperparam } from './hyperparamInternals.js'
import { applyUpdates } from './transforms/applyUpdates.js'
import { scaleByLearningRate } from './transforms/scaleByLearningRate.js'

/**
 * The last stage of a plain gradient-descent step, the book's `x -= lr * grad`: exactly
 * `pipe(scaleByLearningRate(lr), applyUpdates())` (u ← −η·u, then θ ← θ + u, which is
 * bit-identical to θ − η·g). Emits the finished `TrainState` (`step + 1`); records η as
 * `state.lr`. For other optimizers put their transforms before `applyUpdates()` instead.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { centralDifference, cosineDecay, gradient, loss, perturb, update } from 'gradstream/operators'
 *
 * pipe(perturb(centralDifference()), loss(f), gradient(), update(0.1))
 * pipe(perturb(centralDifference()), loss(f), gradient(), update(cosineDecay({ init: 0.1, steps: 1000 })))
 * ```
 * @param lr η: a positive number, a schedule `(step) => number` or an `Observable<number>` (latest value)
 * @throws {RangeError} `scaleByLearningRate: lr: expected a positive finite number, got -0.1`
 * @see scaleByLearningRate, applyUpdates
 */
export function update(lr: Hyperparam) {
  const scale = scaleByLearningRate(lr)
  const apply = applyUpdates()
  return <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
    apply(scale(source))
}
