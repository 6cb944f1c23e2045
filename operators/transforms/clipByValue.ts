import { type Hyperparam, hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { NameOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/**
 * Clips every coordinate to [−δ, δ]: u ← min(max(u, −δ), δ) (optax's `clip`,
 * torch's `clip_grad_value_`). NaN stays NaN. Stateless.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, clipByValue, gradient, maxSteps } from 'gradstream/operators'
 *
 * const f = (x: number[]) => ({ loss: 0, grad: x })
 * const step = pipe(
 *   gradient(f),
 *   clipByValue(1),
 *   tap((s) => console.log(s.updates)), // → [ 1, -0.5, -1 ]
 *   applyUpdates(),
 * )
 * train({ params: [3, -0.5, -7], step }).pipe(maxSteps(1)).subscribe()
 * ```
 * @param maxDelta δ ≥ 0 (a number, schedule or Observable)
 * @param options.name slot name (default `clipByValue`)
 * @throws {RangeError} `clipByValue: maxDelta: expected a non-negative finite number, got -1`
 * @see clipByGlobalNorm
 */
export function clipByValue(
  maxDelta: Hyperparam,
  options: t.TypeOf<typeof NameOptionsC> = {},
): TransformOperator<undefined> {
  const fn = 'clipByValue'
  const o = decodeOptions(NameOptionsC, options, fn)
  return gradientTransform<undefined>({
    name: o.name ?? fn,
    hyper: { maxDelta: hyperparam(fn, 'maxDelta', maxDelta, nonNegative) },
    update: elementwise({ rule: clipRule }),
  })
}

/** u = g clipped to [−d, d] (NaN kept). */
function clipRule({ maxDelta: d }: { maxDelta: number }, g: number) {
  return g > d ? d : g < -d ? -d : g
}
