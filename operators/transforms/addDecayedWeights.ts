import type { Params } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import { maskedPaths, pickLeaves, replaceLeaves } from './mask.js'
import { bindPlan, elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { AddDecayedWeightsOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/**
 * Decoupled weight decay (Loshchilov & Hutter 2019; optax's `add_decayed_weights`):
 * u ← u + λ·θ on the leaves `mask` selects (all by default). Placed before
 * `scaleByLearningRate(η)` it gives θ ← θ − η·(u + λ·θ), AdamW's decay. Stateless.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import { addDecayedWeights, applyUpdates, gradient, maxSteps } from 'gradstream/operators'
 *
 * const f = () => ({ loss: 0, grad: { W: 1, b: 1 } })
 * // u + λ·θ on W, not on b
 * const step = pipe(
 *   gradient(f),
 *   addDecayedWeights(0.1, { mask: (path) => path !== 'b' }),
 *   tap((s) => console.log(s.updates)), // → { W: 1.2, b: 1 }
 *   applyUpdates(),
 * )
 * train({ params: { W: 2, b: 2 }, step }).pipe(maxSteps(1)).subscribe()
 * ```
 * @param weightDecay λ ≥ 0 (a number, schedule or Observable)
 * @param options.mask which leaves decay: a predicate on the leaf path or a tree of booleans
 * @param options.name slot name (default `addDecayedWeights`)
 * @throws {RangeError} `addDecayedWeights: weightDecay: expected a non-negative finite number, got -1`
 * @see adamw, masked
 */
export function addDecayedWeights(
  weightDecay: Hyperparam,
  options: t.TypeOf<typeof AddDecayedWeightsOptionsC> = {},
): TransformOperator<undefined> {
  const fn = 'addDecayedWeights'
  const { mask, name = fn } = decodeOptions(AddDecayedWeightsOptionsC, options, fn)
  // u + λ·θ, one rule: alone, in an optimizer's single pass, or on the masked leaves only
  const decay = bindPlan(
    elementwise<undefined, { weightDecay: number }>({ params: true, rule: decayRule }),
    fn,
  )
  return gradientTransform<undefined>({
    name,
    hyper: { weightDecay: hyperparam(fn, 'weightDecay', weightDecay, nonNegative) },
    update:
      mask === undefined
        ? decay
        : (u, _, ctx) => {
            const paths = maskedPaths(fn, ctx.params, mask)
            const params = pickLeaves(ctx.params, paths)
            const [decayed] = decay(pickLeaves(u, paths), undefined, { ...ctx, params })
            return [replaceLeaves(u, decayed as Record<string, Params>), undefined]
          },
  })
}

/** u = g + λ·θ. */
function decayRule(
  { weightDecay: wd }: { weightDecay: number },
  g: number,
  i: number,
  _o: LeafSlots,
  _n: LeafSlots,
  p: Float64Array,
) {
  return g + wd * p[i]
}
