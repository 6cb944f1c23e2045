import { globalNorm } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, nonNegative, positive } from '../../src/engine/hyperparams.js'
import { leafwise } from '../../src/engine/leaves.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { NameOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/**
 * Rescales the updates when their global norm ‖u‖ = √Σu² exceeds c: u ← u unchanged if
 * ‖u‖ < c, else u ← u·(c/‖u‖) (optax's `clip_by_global_norm`, which computes (u/‖u‖)·c; the
 * factor c/‖u‖ ≤ 1 is rounded once, so no coordinate and hence no norm ever grows). Stateless.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, clipByGlobalNorm, gradient, maxSteps } from 'gradstream/operators'
 *
 * const f = () => ({ loss: 0, grad: { a: 3, b: 4 } }) // norm 5
 * const step = pipe(
 *   gradient(f),
 *   clipByGlobalNorm(1),
 *   tap((s) => console.log(s.updates)), // → { a: 0.6000000000000001, b: 0.8 }
 *   applyUpdates(),
 * )
 * train({ params: { a: 0, b: 0 }, step }).pipe(maxSteps(1)).subscribe()
 * ```
 * @param maxNorm c > 0 (a number; a schedule or Observable value ≥ 0)
 * @param options.name slot name (default `clipByGlobalNorm`)
 * @throws {RangeError} `clipByGlobalNorm: maxNorm: expected a positive finite number, got 0`
 * @see clipByValue
 */
export function clipByGlobalNorm(
  maxNorm: Hyperparam,
  options: t.TypeOf<typeof NameOptionsC> = {},
): TransformOperator<undefined> {
  const fn = 'clipByGlobalNorm'
  const o = decodeOptions(NameOptionsC, options, fn)
  return gradientTransform<undefined>({
    name: o.name ?? fn,
    hyper: { maxNorm: hyperparam(fn, 'maxNorm', maxNorm, nonNegative, positive) },
    init: () => undefined,
    update: (u, _, { hyper: { maxNorm: c } }) => {
      const norm = globalNorm(u)
      if (!(norm >= c)) return [u, undefined] // small (or NaN: left for stopOnNonFinite)
      const factor = c / norm
      const [out] = leafwise(fn, [u], 1, ([g], [o]) => timesLeaf(g, o, factor))
      return [out, undefined]
    },
  })
}

/** o = g·factor on one leaf. */
function timesLeaf(g: Float64Array, o: Float64Array, factor: number): void {
  for (let i = 0; i < o.length; i++) o[i] = g[i] * factor
}
