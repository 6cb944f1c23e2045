import { type Hyperparam, hyperparam, nonNegative, positive } from '../../src/engine/hyperparams.js'
import { scaling } from '../../src/engine/elementwise.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { NameOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/**
 * Scales the updates by minus the learning rate, u ← −η·u, so that `applyUpdates` descends
 * (optax's `scale_by_learning_rate`). Records η as `state.lr` and
 * `state.hyper['scaleByLearningRate.lr']`. Stateless: it has no slot.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, gradient, maxSteps, scaleByLearningRate } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // η = 0.1 at step 0, then 0.05: w = 1 → 0.8 → 0.8 − 0.05·1.6
 * const step = pipe(
 *   gradient(f),
 *   scaleByLearningRate((k) => 0.1 / (k + 1)),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.params.w, s.lr, s.hyper))
 *   // → 0.72 0.05 { 'scaleByLearningRate.lr': 0.05 }
 * ```
 * @param lr η: a positive number, a schedule `(step) => number` (≥ 0) or an Observable of
 *   numbers ≥ 0 (its latest value; see `Hyperparam` for before its first emission)
 * @param options.name slot name (default `scaleByLearningRate`)
 * @throws {RangeError} `scaleByLearningRate: lr: expected a positive finite number, got -0.1`
 * @see scale, sgd
 */
export function scaleByLearningRate(
  lr: Hyperparam,
  options: t.TypeOf<typeof NameOptionsC> = {},
): TransformOperator<undefined> {
  const fn = 'scaleByLearningRate'
  const o = decodeOptions(NameOptionsC, options, fn)
  return gradientTransform<undefined>({
    name: o.name ?? fn,
    hyper: { lr: hyperparam(fn, 'lr', lr, nonNegative, positive) },
    update: scaling(({ lr }) => -lr),
  })
}
