import { type Hyperparam, hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import { leafwise } from '../../src/engine/leaves.js'
import {
  asOperator,
  slotName,
  type TransformOperator,
  checkOptions,
} from '../../src/engine/transform.js'

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
  options: { readonly name?: string } = {},
): TransformOperator<undefined> {
  const fn = 'clipByValue'
  checkOptions(fn, options, ['name'])
  return asOperator<undefined>({
    name: slotName(fn, options.name),
    hyper: { maxDelta: hyperparam(fn, 'maxDelta', maxDelta, nonNegative) },
    init: () => undefined,
    update: (u, _, { hyper: { maxDelta: d } }) => {
      const [out] = leafwise(fn, [u], 1, ([g], [o]) => clipLeaf(g, o, d))
      return [out, undefined]
    },
  })
}

/** g clipped to [−d, d] on one leaf (NaN kept). */
function clipLeaf(g: Float64Array, o: Float64Array, d: number): void {
  for (let i = 0; i < o.length; i++) {
    const x = g[i]
    o[i] = x > d ? d : x < -d ? -d : x
  }
}
