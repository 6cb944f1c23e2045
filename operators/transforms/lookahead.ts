import { type Params, zipTree } from '../../src/tree/tree.js'
import { closedUnitInterval, hyperparam } from '../../src/engine/hyperparams.js'
import {
  childContext,
  prefixHyper,
  toTransform,
  type TransformLike,
  type TransformOperator,
} from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { LookaheadOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `lookahead`: the slow weights, fast steps since the last sync, the inner slot. */
export interface LookaheadState {
  readonly slow: Params
  readonly count: number
  readonly inner: unknown
}

/**
 * Lookahead (Zhang et al. 2019): the inner optimizer takes k fast steps, then the slow weights
 * move a fraction α towards the fast ones and the fast weights restart from there:
 *
 *     fast step:        u = inner(u)                       (θ ← θ + u)
 *     every k-th step:  φ ← φ + α·(θ + u − φ),  u = φ − θ  (θ ← φ, up to rounding)
 *
 * φ (the slow weights) starts at the parameters of the first step. `inner` must be a whole
 * update direction, learning rate included (an optimizer such as `adam(1e-3)` or a `chain`
 * ending in `scaleByLearningRate`); put `applyUpdates()` after lookahead.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, gradient, lookahead, maxSteps, sgd } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // fast: 1 → 0.8 → 0.64; then the slow weights: 1 + 0.5·(0.64 − 1)
 * const step = pipe(
 *   gradient(f),
 *   lookahead(sgd(0.1), { k: 2, alpha: 0.5 }),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.params.w)) // → 0.8200000000000001
 * ```
 * @param inner the fast optimizer (its transforms; its applyUpdates is not used)
 * @param options.k sync period, a positive integer, default 5
 * @param options.alpha α in [0, 1], default 0.5 (a number, schedule or Observable)
 * @param options.name slot name (default `lookahead`)
 * @throws {RangeError} `lookahead: k: expected a positive integer, got 0`
 * @see ema
 */
export function lookahead(
  inner: TransformLike,
  options: t.TypeOf<typeof LookaheadOptionsC> = {},
): TransformOperator<LookaheadState> {
  const fn = 'lookahead'
  const fast = toTransform(fn, 'inner', inner)
  const { k = 5, alpha = 0.5, name = fn } = decodeOptions(LookaheadOptionsC, options, fn)
  return gradientTransform<LookaheadState>({
    name,
    hyper: {
      alpha: hyperparam(fn, 'alpha', alpha, closedUnitInterval),
      ...prefixHyper('inner', fast.hyper),
    },
    init: (params) => ({ slow: params, count: 0, inner: fast.init(params) }),
    update: (updates, s, ctx) => {
      const [u, innerSlot] = fast.update(updates, s.inner, childContext(ctx, 'inner', ctx.params))
      const count = s.count + 1
      if (count < k) return [u, { slow: s.slow, count, inner: innerSlot }]
      const alpha = ctx.hyper.alpha
      const fastParams = zipTree(ctx.params, u, (p, v) => p + v, fn)
      const slow = zipTree(s.slow, fastParams, (w, f) => w + alpha * (f - w), fn)
      const sync = zipTree(slow, ctx.params, (w, p) => w - p, fn)
      return [sync, { slow, count: 0, inner: innerSlot }]
    },
  })
}
