import type { Params } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import { checkMask, type Mask, maskedPaths, pickLeaves, replaceLeaves } from './maskInternals.js'
import { applyLeafwise, leafwise } from '../../src/engine/leaves.js'
import {
  asOperator,
  checkOptions,
  slotName,
  type TransformContext,
  type TransformOperator,
} from '../../src/engine/transform.js'

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
  options: { readonly mask?: Mask; readonly name?: string } = {},
): TransformOperator<undefined> {
  const fn = 'addDecayedWeights'
  checkOptions(fn, options, ['mask', 'name'])
  const { mask } = options
  if (mask !== undefined) checkMask(fn, mask)
  const decay = (u: Params, p: Params, wd: number) =>
    leafwise(fn, [u, p], 1, ([g, w], [o]) => decayLeaf(g, w, o, wd))[0]
  return asOperator<undefined>({
    name: slotName(fn, options.name),
    hyper: { weightDecay: hyperparam(fn, 'weightDecay', weightDecay, nonNegative) },
    init: () => undefined,
    update: (u, _, { params, hyper: { weightDecay: wd } }) => {
      if (mask === undefined) return [decay(u, params, wd), undefined]
      const paths = maskedPaths(fn, params, mask)
      const decayed = decay(pickLeaves(u, paths), pickLeaves(params, paths), wd)
      return [replaceLeaves(u, decayed as Record<string, Params>), undefined]
    },
    // unmasked, the optimizers' fused ending (adamw, lion): θ + a·(u + λ·θ) in one pass
    ...(mask === undefined
      ? {
          applyTo: (
            params: Params,
            u: Params,
            _: undefined,
            { hyper: { weightDecay: wd } }: TransformContext,
            a: number,
          ) => {
            const [theta] = applyLeafwise(fn, [u, params], 0, params, u, ([g, w], p, _o, q) =>
              decayApplyLeaf(g, w, p, q, wd, a),
            )
            return [theta, undefined] as const
          },
        }
      : {}),
  })
}

/** o = g + wd·w on one leaf. */
function decayLeaf(g: Float64Array, w: Float64Array, o: Float64Array, wd: number): void {
  for (let i = 0; i < o.length; i++) o[i] = g[i] + wd * w[i]
}

/** `decayLeaf` and then q = p + a·o, in one pass. */
function decayApplyLeaf(
  g: Float64Array,
  w: Float64Array,
  p: Float64Array,
  q: Float64Array,
  wd: number,
  a: number,
): void {
  for (let i = 0; i < q.length; i++) q[i] = p[i] + a * (g[i] + wd * w[i])
}
