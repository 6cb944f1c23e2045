import { mapTree, type Params } from '../../src/tree/tree.js'
import { expectNonNegative } from '../../src/errors.js'
import { type Hyperparam, hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import { applyLeafwise, leafwise } from '../../src/engine/leaves.js'
import {
  asOperator,
  slotName,
  type TransformOperator,
  checkOptions,
} from '../../src/engine/transform.js'

/** The slot of `scaleByAdagrad`: the running sum of squared updates. */
export interface ScaleByAdagradState {
  readonly sumOfSquares: Params
}

/**
 * AdaGrad (Duchi et al. 2011) as torch.optim.Adagrad and the book's `AdaGrad` compute it:
 * h ← h + u²; the update is u / (√h + ε), ε outside the root. (optax's `scale_by_rss` puts ε
 * inside, 1/√(h + ε), and starts h at 0.1.)
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   scaleByAdagrad,
 *   scaleByLearningRate,
 * } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // first step: h = 2², update 2/√4
 * const step = pipe(
 *   gradient(f),
 *   scaleByAdagrad(0),
 *   tap((s) => console.log(s.updates.w)), // → 1
 *   scaleByLearningRate(0.1),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param eps ε ≥ 0, default 1e-10 (torch's; the book uses 1e-7)
 * @param options.initialAccumulator h₀ ≥ 0, default 0
 * @param options.name slot name (default `scaleByAdagrad`)
 * @throws {RangeError} `scaleByAdagrad: eps: expected a non-negative finite number, got -1`
 * @see adagrad, scaleByRms
 */
export function scaleByAdagrad(
  eps: Hyperparam = 1e-10,
  options: { readonly initialAccumulator?: number; readonly name?: string } = {},
): TransformOperator<ScaleByAdagradState> {
  const fn = 'scaleByAdagrad'
  checkOptions(fn, options, ['initialAccumulator', 'name'])
  const h0 = options.initialAccumulator ?? 0
  expectNonNegative(fn, 'initialAccumulator', h0)
  return asOperator<ScaleByAdagradState>({
    name: slotName(fn, options.name),
    hyper: { eps: hyperparam(fn, 'eps', eps, nonNegative) },
    init: (params) => ({ sumOfSquares: mapTree(params, () => h0) }),
    update: (u, { sumOfSquares }, { hyper: { eps } }) => {
      const [h, out] = leafwise(fn, [sumOfSquares, u], 2, ([h0, g], [h, o]) =>
        adagradLeaf(h0, g, h, o, eps),
      )
      return [out, { sumOfSquares: h }]
    },
    applyTo: (params, u, { sumOfSquares }, { hyper: { eps } }, a) => {
      const [theta, [h]] = applyLeafwise(
        fn,
        [sumOfSquares, u],
        1,
        params,
        u,
        ([h0, g], p, [h], q) => adagradApplyLeaf(h0, g, p, h, q, eps, a),
      )
      return [theta, { sumOfSquares: h }]
    },
  })
}

/** h = h₀ + g² and o = g / (√h + ε) on one leaf. */
function adagradLeaf(
  h0: Float64Array,
  g: Float64Array,
  h: Float64Array,
  o: Float64Array,
  eps: number,
): void {
  for (let i = 0; i < h.length; i++) {
    const gi = g[i]
    const hi = h0[i] + gi * gi
    h[i] = hi
    o[i] = gi / (Math.sqrt(hi) + eps)
  }
}

/** `adagradLeaf` and then q = p + a·o, in one pass. */
function adagradApplyLeaf(
  h0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  h: Float64Array,
  q: Float64Array,
  eps: number,
  a: number,
): void {
  for (let i = 0; i < h.length; i++) {
    const gi = g[i]
    const hi = h0[i] + gi * gi
    h[i] = hi
    q[i] = p[i] + a * (gi / (Math.sqrt(hi) + eps))
  }
}
