import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import {
  type Hyperparam,
  hyperparam,
  nonNegative,
  unitInterval,
} from '../../src/engine/hyperparams.js'
import { applyLeafwise, leafwise } from '../../src/engine/leaves.js'
import {
  asOperator,
  slotName,
  type TransformOperator,
  checkOptions,
} from '../../src/engine/transform.js'

/** The slot of `scaleByRms`: the decaying average of squared updates. */
export interface ScaleByRmsState {
  readonly nu: Params
}

/**
 * RMSprop's scaling (Tieleman & Hinton 2012): ν ← ρ·ν + (1 − ρ)·u²; the update is
 * u / (√ν + ε) as torch.optim.RMSprop and the book's `RMSprop` compute it, or u / √(ν + ε)
 * with `epsInSqrt` (optax's `scale_by_rms` default). No bias correction; ν starts at 0.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   scaleByLearningRate,
 *   scaleByRms,
 * } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // first step: ν = 0.01·2², update 2/√ν (up to rounding)
 * const step = pipe(
 *   gradient(f),
 *   scaleByRms(0.99, 0),
 *   tap((s) => console.log(s.updates.w)), // → 9.999999999999995
 *   scaleByLearningRate(0.1),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param decay ρ in [0, 1), default 0.99 (torch's α and the book's decay_rate)
 * @param eps ε ≥ 0, default 1e-8 (torch's; the book uses 1e-7)
 * @param options.epsInSqrt put ε under the root (optax), default false
 * @param options.name slot name (default `scaleByRms`)
 * @throws {RangeError} `scaleByRms: decay: expected a number in [0, 1), got 1`
 * @see rmsprop, scaleByAdam
 */
export function scaleByRms(
  decay: Hyperparam = 0.99,
  eps: Hyperparam = 1e-8,
  options: { readonly epsInSqrt?: boolean; readonly name?: string } = {},
): TransformOperator<ScaleByRmsState> {
  const fn = 'scaleByRms'
  checkOptions(fn, options, ['epsInSqrt', 'name'])
  const inSqrt = options.epsInSqrt === true
  return asOperator<ScaleByRmsState>({
    name: slotName(fn, options.name),
    hyper: {
      decay: hyperparam(fn, 'decay', decay, unitInterval),
      eps: hyperparam(fn, 'eps', eps, nonNegative),
    },
    init: (params) => ({ nu: zerosLikeTree(params) }),
    update: (u, { nu }, { hyper: { decay, eps } }) => {
      const [n, out] = leafwise(fn, [nu, u], 2, ([n0, g], [n, o]) =>
        inSqrt ? rmsInSqrtLeaf(n0, g, n, o, decay, eps) : rmsLeaf(n0, g, n, o, decay, eps),
      )
      return [out, { nu: n }]
    },
    applyTo: (params, u, { nu }, { hyper: { decay, eps } }, a) => {
      const [theta, [n]] = applyLeafwise(fn, [nu, u], 1, params, u, ([n0, g], p, [n], q) =>
        inSqrt
          ? rmsInSqrtApplyLeaf(n0, g, p, n, q, decay, eps, a)
          : rmsApplyLeaf(n0, g, p, n, q, decay, eps, a),
      )
      return [theta, { nu: n }]
    },
  })
}

/** n = ρ·n₀ + (1 − ρ)·g² and o = g / (√n + ε) on one leaf. */
function rmsLeaf(
  n0: Float64Array,
  g: Float64Array,
  n: Float64Array,
  o: Float64Array,
  decay: number,
  eps: number,
): void {
  const a = 1 - decay
  for (let i = 0; i < n.length; i++) {
    const gi = g[i]
    const ni = decay * n0[i] + a * gi * gi
    n[i] = ni
    o[i] = gi / (Math.sqrt(ni) + eps)
  }
}

/** `rmsLeaf` with ε inside the root: o = g / √(n + ε). */
function rmsInSqrtLeaf(
  n0: Float64Array,
  g: Float64Array,
  n: Float64Array,
  o: Float64Array,
  decay: number,
  eps: number,
): void {
  const a = 1 - decay
  for (let i = 0; i < n.length; i++) {
    const gi = g[i]
    const ni = decay * n0[i] + a * gi * gi
    n[i] = ni
    o[i] = gi / Math.sqrt(ni + eps)
  }
}

/** `rmsLeaf` and then q = p + a·o, in one pass. */
function rmsApplyLeaf(
  n0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  n: Float64Array,
  q: Float64Array,
  decay: number,
  eps: number,
  a: number,
): void {
  const c = 1 - decay
  for (let i = 0; i < n.length; i++) {
    const gi = g[i]
    const ni = decay * n0[i] + c * gi * gi
    n[i] = ni
    q[i] = p[i] + a * (gi / (Math.sqrt(ni) + eps))
  }
}

/** `rmsInSqrtLeaf` and then q = p + a·o, in one pass. */
function rmsInSqrtApplyLeaf(
  n0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  n: Float64Array,
  q: Float64Array,
  decay: number,
  eps: number,
  a: number,
): void {
  const c = 1 - decay
  for (let i = 0; i < n.length; i++) {
    const gi = g[i]
    const ni = decay * n0[i] + c * gi * gi
    n[i] = ni
    q[i] = p[i] + a * (gi / Math.sqrt(ni + eps))
  }
}
