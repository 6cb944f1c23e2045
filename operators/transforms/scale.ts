import { finite, type Hyperparam, hyperparam } from '../../src/engine/hyperparams.js'
import { scaling } from '../../src/engine/elementwise.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { NameOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/**
 * Multiplies the updates by a constant factor, u ← a·u (optax's `scale`). Stateless; records
 * `hyper['scale.factor']`. `scale(a)` then `scale(b)` equals `scale(a·b)` up to rounding.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, gradient, maxSteps, scale } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * const step = pipe(
 *   gradient(f),
 *   scale(-0.25),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.params.w)) // → 0.5
 * ```
 * @param factor a finite number (may be negative), a schedule or an Observable
 * @param options.name slot name (default `scale`)
 * @throws {RangeError} `scale: factor: expected a finite number, got NaN`
 * @see scaleByLearningRate
 */
export function scale(
  factor: Hyperparam,
  options: t.TypeOf<typeof NameOptionsC> = {},
): TransformOperator<undefined> {
  const o = decodeOptions(NameOptionsC, options, 'scale')
  return gradientTransform<undefined>({
    name: o.name ?? 'scale',
    hyper: { factor: hyperparam('scale', 'factor', factor, finite) },
    update: scaling(({ factor }) => factor),
  })
}
