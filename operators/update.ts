import { type Hyperparam } from '../src/engine/hyperparams.js'
import { applyingStage } from '../src/engine/stages.js'
import { scaleByLearningRate } from './transforms/scaleByLearningRate.js'

/**
 * The last stage of a plain gradient-descent step, the book's `x -= lr * grad`: exactly
 * `pipe(scaleByLearningRate(lr), applyUpdates())` (u ← −η·u, then θ ← θ + u, which is
 * bit-identical to θ − η·g). Emits the finished `TrainState` (`step + 1`); records η as
 * `state.lr` and `state.hyper['scaleByLearningRate.lr']`. For other optimizers put their
 * transforms before `applyUpdates()` instead.
 *
 * It runs fused (one pass over the parameters, no intermediate state) and emits the very
 * states the two-operator pipe emits (a test compares them field by field); a schedule or an
 * Observable is resolved and checked at each step exactly as `scaleByLearningRate` does.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   centralDifference,
 *   cosineDecay,
 *   gradient,
 *   loss,
 *   maxSteps,
 *   perturb,
 *   update,
 * } from 'gradstream/operators'
 *
 * type P = { w: number }
 * const f = ({ w }: P) => w * w // f = w², ∇f = 2w: each step w ← w − 0.1·2w = 0.8·w
 * const step = pipe(perturb<P>(centralDifference()), loss(f), gradient(), update(0.1))
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.step, s.params.w, s.lr)) // → 2 0.6400000000000841 0.1
 * // η from a schedule, read at each step
 * const decayed = pipe(
 *   perturb<P>(centralDifference()),
 *   loss(f),
 *   gradient(),
 *   update(cosineDecay({ init: 0.1, steps: 4 })),
 * )
 * train({ params: { w: 1 }, step: decayed })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.step, s.lr)) // → 2 0.08535533905932738
 * // the second update's η: the schedule at step 1, 0.1·(1 + cos(π/4))/2
 * ```
 * @param lr η: a positive number, a schedule `(step) => number` or an `Observable<number>` (latest value)
 * @throws {RangeError} `scaleByLearningRate: lr: expected a positive finite number, got -0.1`
 * @see scaleByLearningRate, applyUpdates
 */
export function update(lr: Hyperparam) {
  // the step of `sgd(lr)` (one pass: θ + (−η)·u), its messages scaleByLearningRate's
  return applyingStage([scaleByLearningRate(lr).transform])
}
