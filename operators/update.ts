import type { Observable } from 'rxjs'
import type { TrainState, WithGradient } from '../src/state/types.js'
import type { Params } from '../src/tree/tree.js'
import { stage } from '../src/engine/fusion.js'
import { type Hyperparam, hyperAt } from '../src/engine/hyperparams.js'
import { addScaled } from '../src/engine/leaves.js'
import { steppedState } from '../src/engine/state.js'
import { duplicateSlot } from '../src/engine/transform.js'
import { frozenTree } from './stageInternals.js'
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
  const scale = scaleByLearningRate(lr) // validates lr (its messages) and names the slot
  const t = scale.transform
  const name = t.name
  const key = `${name}.${t.lrField}`
  /** the last `hyper` record this operator built (frozen): reused while η stays the same */
  let lastHyper: TrainState['hyper'] | null = null
  /**
   * The fused step: θ + (−η)·u in one pass, and the very state `applyUpdates` would build after
   * `scaleByLearningRate` (same fields, same values: x + (−η)·g is what u ← −η·u then θ + u
   * computes). One object a step; the new parameters come back frozen from `addScaled`.
   */
  const finish = <P extends Params>(s: WithGradient<P>, eta: number): TrainState<P> => {
    const used = (s as { transforms?: readonly string[] }).transforms
    if (used !== undefined && used.includes(name)) {
      throw duplicateSlot(name)
    }
    const params = addScaled(s.params, s.updates, -eta, 'applyUpdates')
    let hyper = s.hyper
    // Reuse the incoming record when it already says η and is frozen. The identity check comes
    // first because Object.isFrozen is an engine call and hyper is usually the record built
    // last step (frozen by construction). Object.is keeps −0 and 0 apart.
    if (hyper !== lastHyper || !Object.is(hyper[key], eta)) {
      hyper =
        Object.is(hyper[key], eta) && Object.isFrozen(hyper)
          ? hyper
          : Object.freeze({ ...hyper, [key]: eta })
      lastHyper = hyper
    }
    return steppedState(s, params, frozenTree(s.grad), eta, s.opt, hyper)
  }
  // a stage: fused with the stages before it into one hop (see src/engine/fusion.ts). A schedule or
  // an Observable is resolved (and checked) per step exactly as scaleByLearningRate does.
  const spec = t.hyper[t.lrField!]
  return <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
    stage<WithGradient<P>, TrainState<P>>((run) => {
      if (typeof lr === 'number') return (s) => finish(s, lr)
      const at = hyperAt(spec, run)
      return (s) => finish(s, at(s.step))
    })(source)
}
