import type { Params } from '../../src/tree/tree.js'
import { type Mask, maskedPaths, pickLeaves, replaceLeaves } from './mask.js'
import {
  toTransform,
  type TransformLike,
  type TransformOperator,
} from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { MaskC, NameOptionsC } from '../../src/state/configCodecs.js'
import { decode, decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/**
 * Applies `transform` only to the leaves `mask` selects (optax's `masked`): for a selected
 * leaf u ← T(u); every other leaf's update passes through untouched (the same object, bit
 * for bit). The inner transform sees, and keeps its slot over, only the selected leaves, as a
 * flat record keyed by leaf path (`opt.scaleByAdam.mu['W1']`). The slot name defaults to the
 * inner transform's; its hyperparameters are recorded under it as they would be unmasked.
 *
 * Unselected leaves keep their incoming updates (optax's semantics): with a whole optimizer
 * inside (`masked(adam(1e-3), mask)`, learning rate included), the other leaves still carry
 * the raw gradient, so give them their own treatment (`perParameter`, or a second `masked`
 * with the complementary mask) before `applyUpdates()`.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, gradient, masked, maxSteps, scaleByAdam } from 'gradstream/operators'
 *
 * const f = () => ({ loss: 0, grad: { W: 4, b: 4 } })
 * const notBiases = (path: string) => !path.startsWith('b') // or the tree { W: true, b: false }
 * const step = pipe(
 *   gradient(f),
 *   masked(scaleByAdam({ eps: 0 }), notBiases),
 *   tap((s) => console.log(s.updates)), // → { W: 1, b: 4 }
 *   applyUpdates(),
 * )
 * train({ params: { W: 0, b: 0 }, step }).pipe(maxSteps(1)).subscribe()
 * ```
 * @param transform a transform operator, chain or optimizer (its pair is taken)
 * @param mask a predicate `(path, leaf) => boolean` or a tree of booleans shaped like (a
 *   prefix of) the parameters
 * @param options.name slot name (default: the inner transform's)
 * @throws {TypeError} `masked: mask.b1: expected a boolean or a subtree of booleans, got undefined`
 * @see perParameter, addDecayedWeights
 */
export function masked<S>(
  transform: TransformLike<S>,
  mask: Mask,
  options: t.TypeOf<typeof NameOptionsC> = {},
): TransformOperator<S> {
  const fn = 'masked'
  const o = decodeOptions(NameOptionsC, options, fn)
  const inner = toTransform<S>(fn, 'transform', transform)
  decode(MaskC, mask, fn, 'mask')
  return gradientTransform<S>({
    name: o.name ?? inner.name,
    hyper: inner.hyper,
    init: (params) => inner.init(pickLeaves(params, maskedPaths(fn, params, mask))),
    update: (u, slot, ctx) => {
      const paths = maskedPaths(fn, ctx.params, mask)
      const [out, next] = inner.update(pickLeaves(u, paths), slot, {
        ...ctx,
        params: pickLeaves(ctx.params, paths),
      })
      return [replaceLeaves(u, out as Record<string, Params>), next]
    },
  })
}
