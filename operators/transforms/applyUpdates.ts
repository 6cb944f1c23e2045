import { applyingStage } from '../../src/engine/stages.js'

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
  // the end of the step; piped after transforms, it joins their single pass (src/engine/stages.ts)
  return applyingStage([])
}
