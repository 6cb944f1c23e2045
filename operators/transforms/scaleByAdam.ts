import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import {
  type Hyperparam,
  hyperparam,
  nonNegative,
  unitInterval,
} from '../../src/engine/hyperparams.js'
import { uninitializedF64 } from '../../src/tensor/uninitialized.js'
import { leafwise, leavesOf } from '../../src/engine/leaves.js'
import {
  asOperator,
  slotName,
  type TransformOperator,
  checkOptions,
} from '../../src/engine/transform.js'

/** The slot of `scaleByAdam`: first and second moments and the number of steps taken. */
export interface ScaleByAdamState {
  readonly count: number
  readonly mu: Params
  readonly nu: Params
}

/** Options of `scaleByAdam` (and of `adam`, `adamw`). */
export interface ScaleByAdamOptions {
  /** β₁ in [0, 1), default 0.9 */
  readonly b1?: Hyperparam
  /** β₂ in [0, 1), default 0.999 */
  readonly b2?: Hyperparam
  /** ε ≥ 0, default 1e-8 (the book uses 1e-7) */
  readonly eps?: Hyperparam
  /**
   * The paper's "efficient" form (Kingma & Ba, end of §2), which the book's `Adam` uses: ε is
   * added to the uncorrected √ν, and the bias corrections fold into one step factor. Default
   * false (torch.optim.Adam / optax form).
   */
  readonly efficient?: boolean
  /** slot name, default `scaleByAdam` */
  readonly name?: string
}

/**
 * Adam's scaling (Kingma & Ba 2015), as torch.optim.Adam and optax's `scale_by_adam` compute
 * it. With t = count + 1:
 *
 *     μ ← β₁·μ + (1 − β₁)·u        ν ← β₂·ν + (1 − β₂)·u²
 *     update = μ̂ / (√ν̂ + ε),   μ̂ = μ / (1 − β₁ᵗ),  ν̂ = ν / (1 − β₂ᵗ)
 *
 * With `efficient: true` (the book's form): update = √(1 − β₂ᵗ)/(1 − β₁ᵗ) · μ / (√ν + ε).
 * The first update is ±1·|u|/(|u| + ε) per coordinate: magnitude η after the learning rate.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { tensor, type Tensor } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   scaleByAdam,
 *   scaleByLearningRate,
 * } from 'gradstream/operators'
 *
 * const f = ({ W }: { W: Tensor }) => ({ loss: 0, grad: { W } })
 * // the first step moves every coordinate by η = 0.1, whatever the gradient's size
 * const step = pipe(gradient(f), scaleByAdam({ eps: 0 }), scaleByLearningRate(0.1), applyUpdates())
 * train({ params: { W: tensor([3, -0.002]) }, step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(Array.from(s.params.W.data))) // → [ 2.9, 0.098 ]
 * ```
 * @throws {RangeError} `scaleByAdam: b1: expected a number in [0, 1), got 1`
 * @see adam, adamw, scaleByRms
 */
export function scaleByAdam(options: ScaleByAdamOptions = {}): TransformOperator<ScaleByAdamState> {
  const fn = 'scaleByAdam'
  checkOptions(fn, options, ['b1', 'b2', 'eps', 'efficient', 'name'])
  const efficient = options.efficient === true
  return asOperator<ScaleByAdamState>({
    name: slotName(fn, options.name),
    hyper: {
      b1: hyperparam(fn, 'b1', options.b1 ?? 0.9, unitInterval),
      b2: hyperparam(fn, 'b2', options.b2 ?? 0.999, unitInterval),
      eps: hyperparam(fn, 'eps', options.eps ?? 1e-8, nonNegative),
    },
    init: (params) => ({ count: 0, mu: zerosLikeTree(params), nu: zerosLikeTree(params) }),
    update: (u, s, { hyper: { b1, b2, eps } }) => {
      const t = s.count + 1
      const c1 = 1 - b1 ** t
      const c2 = 1 - b2 ** t
      const step = Math.sqrt(c2) / c1 // the efficient form's factor
      const [mu, nu, out] = leafwise(fn, [s.mu, s.nu, u], 3, ([m0, n0, g], [m, n, o]) =>
        efficient
          ? adamEfficientLeaf(m0, n0, g, m, n, o, b1, b2, eps, step)
          : adamLeaf(m0, n0, g, m, n, o, b1, b2, eps, c1, c2),
      )
      return [out, { count: t, mu, nu }]
    },
    // the optimizers' fused ending: θ + a·update in the same pass (same bits: see adamApplyLeaf)
    applyTo: (params, u, s, { hyper: { b1, b2, eps } }, a) => {
      const t = s.count + 1
      const c1 = 1 - b1 ** t
      const c2 = 1 - b2 ** t
      const step = Math.sqrt(c2) / c1
      const moments = leavesOf(fn, [s.mu, s.nu, u])
      const theta = leavesOf('applyUpdates', [params, u])
      const [m0, n0, g] = moments.data
      const [p0] = theta.data
      const count = moments.count
      const ms = new Array<Float64Array>(count)
      const ns = new Array<Float64Array>(count)
      const ps = new Array<Float64Array>(count)
      for (let j = 0; j < count; j++) {
        const len = g[j].length
        const m = (ms[j] = uninitializedF64(len))
        const n = (ns[j] = uninitializedF64(len))
        const q = (ps[j] = uninitializedF64(len))
        if (efficient)
          adamEfficientApplyLeaf(m0[j], n0[j], g[j], p0[j], m, n, q, b1, b2, eps, step, a)
        else adamApplyLeaf(m0[j], n0[j], g[j], p0[j], m, n, q, b1, b2, eps, c1, c2, a)
      }
      return [theta.build(ps), { count: t, mu: moments.build(ms), nu: moments.build(ns) }]
    },
  })
}

/** Adam's moments and update on one leaf (torch/optax form): μ, ν written to m, n; the update to o. */
export function adamLeaf(
  m0: Float64Array,
  n0: Float64Array,
  g: Float64Array,
  m: Float64Array,
  n: Float64Array,
  o: Float64Array,
  b1: number,
  b2: number,
  eps: number,
  c1: number,
  c2: number,
): void {
  const a1 = 1 - b1
  const a2 = 1 - b2
  for (let i = 0; i < m.length; i++) {
    const gi = g[i]
    const mi = b1 * m0[i] + a1 * gi
    const ni = b2 * n0[i] + a2 * gi * gi
    m[i] = mi
    n[i] = ni
    o[i] = mi / c1 / (Math.sqrt(ni / c2) + eps)
  }
}

/** `adamLeaf` in the efficient form (ε beside the uncorrected √ν, one step factor). */
export function adamEfficientLeaf(
  m0: Float64Array,
  n0: Float64Array,
  g: Float64Array,
  m: Float64Array,
  n: Float64Array,
  o: Float64Array,
  b1: number,
  b2: number,
  eps: number,
  step: number,
): void {
  const a1 = 1 - b1
  const a2 = 1 - b2
  for (let i = 0; i < m.length; i++) {
    const gi = g[i]
    const mi = b1 * m0[i] + a1 * gi
    const ni = b2 * n0[i] + a2 * gi * gi
    m[i] = mi
    n[i] = ni
    o[i] = (step * mi) / (Math.sqrt(ni) + eps)
  }
}

/**
 * `adamLeaf` followed by θ + a·update (a = −η in adam): μ, ν to m, n and the new parameters
 * to q. The update is computed as in `adamLeaf` and added as `applyUpdates` adds the
 * learning-rate-scaled one: p + a·u is p + (−η·u), the same number.
 */
function adamApplyLeaf(
  m0: Float64Array,
  n0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  m: Float64Array,
  n: Float64Array,
  q: Float64Array,
  b1: number,
  b2: number,
  eps: number,
  c1: number,
  c2: number,
  a: number,
): void {
  const a1 = 1 - b1
  const a2 = 1 - b2
  for (let i = 0; i < m.length; i++) {
    const gi = g[i]
    const mi = b1 * m0[i] + a1 * gi
    const ni = b2 * n0[i] + a2 * gi * gi
    m[i] = mi
    n[i] = ni
    q[i] = p[i] + a * (mi / c1 / (Math.sqrt(ni / c2) + eps))
  }
}

/** `adamApplyLeaf` in the efficient form. */
function adamEfficientApplyLeaf(
  m0: Float64Array,
  n0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  m: Float64Array,
  n: Float64Array,
  q: Float64Array,
  b1: number,
  b2: number,
  eps: number,
  step: number,
  a: number,
): void {
  const a1 = 1 - b1
  const a2 = 1 - b2
  for (let i = 0; i < m.length; i++) {
    const gi = g[i]
    const mi = b1 * m0[i] + a1 * gi
    const ni = b2 * n0[i] + a2 * gi * gi
    m[i] = mi
    n[i] = ni
    q[i] = p[i] + a * ((step * mi) / (Math.sqrt(ni) + eps))
  }
}
