import { map, type Observable } from 'rxjs'
import { freezeTree } from '../src/state/freeze.js'
import type { TrainState, WithGradient } from '../src/state/types.js'
import type { Params } from '../src/tree/tree.js'
import type { Hyperparam } from './hyperparamInternals.js'
import { applyUpdates } from './transforms/applyUpdates.js'
import { addScaled } from './stageInternals.js'
import { scaleByLearningRate } from './transforms/scaleByLearningRate.js'

/**
 * The last stage of a plain gradient-descent step, the book's `x -= lr * grad`: exactly
 * `pipe(scaleByLearningRate(lr), applyUpdates())` (u ← −η·u, then θ ← θ + u, which is
 * bit-identical to θ − η·g). Emits the finished `TrainState` (`step + 1`); records η as
 * `state.lr` and `state.hyper['scaleByLearningRate.lr']`. For other optimizers put their
 * transforms before `applyUpdates()` instead.
 *
 * A constant `lr` takes a fused path (one pass over the parameters, no intermediate state)
 * that emits the very states the two-operator pipe emits (a test compares them field by
 * field); a schedule or an Observable goes through the pipe.
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
  if (typeof lr === 'number') {
    const name = scale.transform.name
    const key = `${name}.lr`
    return <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
      source.pipe(
        map((s): TrainState<P> => {
          const used = (s as { transforms?: readonly string[] }).transforms
          if (used !== undefined && used.includes(name)) {
            throw new Error(
              `${name}: name: expected a slot name no other transform in this step uses, got "${name}" (pass { name } to tell them apart)`,
            )
          }
          const params = addScaled(s.params, s.updates, -lr, 'applyUpdates')
          const hyper =
            s.hyper[key] === lr && Object.isFrozen(s.hyper)
              ? s.hyper
              : Object.freeze({ ...s.hyper, [key]: lr })
          return Object.freeze({
            step: s.step + 1,
            params: freezeTree(params),
            loss: s.baseLoss,
            grad: freezeTree(s.grad),
            lr,
            opt: s.opt,
            hyper,
            evaluations: s.evaluations,
            rng: s.rng,
            history: s.history,
            metrics: s.metrics,
          })
        }),
      )
  }
  return <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
    apply(scale(source))
}
