import { mapTree } from '../../src/tree/tree.js'
import { finite, type Hyperparam, hyperparam } from '../hyperparamInternals.js'
import { asOperator, slotName, type TransformOperator } from './transformInternals.js'

/**
 * Multiplies the updates by a constant factor, u ← a·u (optax's `scale`). Stateless; records
 * `hyper['scale.factor']`. `scale(a)` then `scale(b)` equals `scale(a·b)` up to rounding.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs'
 * import { scale } from 'gradstream/operators'
 *
 * of(state) // updates { w: 2 }
 *   .pipe(scale(-0.5))
 *   .subscribe((s) => console.log(s.updates.w)) // -1
 * ```
 * @param factor a finite number (may be negative), a schedule or an Observable
 * @param options.name slot name (default `scale`)
 * @throws {RangeError} `scale: factor: expected a finite number, got NaN`
 * @see scaleByLearningRate
 */
export function scale(
  factor: Hyperparam,
  options: { readonly name?: string } = {},
): TransformOperator<undefined> {
  return asOperator<undefined>({
    name: slotName('scale', options.name),
    hyper: { factor: hyperparam('scale', 'factor', factor, finite) },
    init: () => undefined,
    update: (u, _, { hyper }) => [mapTree(u, (v) => hyper.factor * v), undefined],
  })
}
