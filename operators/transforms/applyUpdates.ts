import type { Observable } from 'rxjs'
import type { TrainState, WithGradient } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import { stage } from '../fusionInternals.js'
import { leafwise } from './kernelInternals.js'
import { freezeData } from './transformInternals.js'

/**
 * Ends a step: θ ← θ + u (the updates the transforms made, already signed to descend), then
 * emits a plain `TrainState` with `step + 1`, `loss = baseLoss` and the gradient, learning
 * rate, slots, hyperparameters, evaluations, generator, history and metrics carried over; the
 * stage-only fields (probes, losses, baseLoss, updates, batch, transforms) are dropped.
 *
 * The sign lives in the transforms: `scaleByLearningRate` (or `scale` with a negative factor)
 * must come before it, or it adds the raw gradient (`pipe(gradient(f), applyUpdates())` climbs).
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, gradient, maxSteps, scaleByLearningRate } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * const step = pipe(
 *   gradient(f),
 *   scaleByLearningRate(0.5),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.step, s.params.w, s.loss)) // → 1 0 1
 * ```
 * @throws {ShapeError} `applyUpdates: at w: shapes [2] and [3] differ` when updates do not fit
 * @see scaleByLearningRate, sgd
 */
export function applyUpdates() {
  // a fusible stage (see fusionInternals): after gradient and the transforms, in the same hop
  return <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
    stage<WithGradient<P>, TrainState<P>>(() => (s): TrainState<P> => {
      const [params] = leafwise('applyUpdates', [s.params, s.updates], 1, ([p, u], [o]) =>
        addLeaf(p, u, o),
      ) as P[]
      // unfrozen: the chain that emits it freezes it; params are built frozen
      return {
        step: s.step + 1,
        params,
        loss: s.baseLoss,
        grad: freezeData(s.grad),
        lr: s.lr,
        opt: s.opt,
        hyper: s.hyper,
        evaluations: s.evaluations,
        rng: s.rng,
        history: s.history,
        metrics: s.metrics,
      }
    })(source)
}

/** o = p + u on one leaf. */
function addLeaf(p: Float64Array, u: Float64Array, o: Float64Array): void {
  for (let i = 0; i < o.length; i++) o[i] = p[i] + u[i]
}
