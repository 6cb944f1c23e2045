import { ShapeError, expectPositive, show, showShape } from '../errors.js'
import { CROSS_ENTROPY_DELTA } from '../functions/crossEntropyError.js'
import { asTensor, readBatch, type TensorLike } from '../functions/lossInternals.js'
import { matmul } from '../tensor/linalg.js'
import type { Tensor } from '../tensor/tensor.js'

/** The parameters probed: the book's `W1, b1, W2, b2`. */
export interface TwoLayerNetWeights {
  readonly W1: Tensor
  readonly b1: Tensor
  readonly W2: Tensor
  readonly b2: Tensor
}

/** Options of `twoLayerNetNumericalGradient`. */
export interface TwoLayerNetNumericalGradientOptions {
  /** the central-difference step; default 1e-4, the book's */
  readonly h?: number
  /**
   * the loss: `'crossEntropy'` (default; the book's `cross_entropy_error(softmax(a2), t)` with
   * δ = 1e-7) or `'softmaxCrossEntropy'` (fused, on the logits), as `twoLayerNet`'s `loss` option
   */
  readonly loss?: 'crossEntropy' | 'softmaxCrossEntropy'
}

/**
 * The book's `TwoLayerNet.numerical_gradient` — central differences `(f(p + h·eₖ) − f(p − h·eₖ))
 * / 2h` of the batch loss for every one of the net's parameters — computed incrementally: each
 * probe re-evaluates only what its parameter changes instead of the whole forward pass.
 *
 * With `a1 = x·W1 + b1`, `z1 = σ(a1)`, `a2 = z1·W2 + b2` and the loss `f = Σₛ Lₛ(a2ₛ) / N`:
 *
 * - `W1[i][j]` moves `a1[s][j]` by `x[s][i]·Δ` only, so only samples with `x[s][i] ≠ 0` change
 *   (≈ 20% of an MNIST batch, none for a blank pixel), and for each just `z1[s][j]` and then
 *   `a2[s] += (z1'[s][j] − z1[s][j])·W2[j]`;
 * - `b1[j]` moves `a1[s][j]` for every sample, likewise through one hidden unit;
 * - `W2[j][c]` moves `a2[s][c]` by `z1[s][j]·Δ`, `b2[c]` moves it by `Δ`.
 *
 * Unchanged samples contribute exactly nothing, so `f(p+) − f(p−) = Σ (Lₛ(+) − Lₛ(−)) / N` over
 * the changed ones. The perturbed values are the book's own (`w + h` and `w − h` rounded as
 * stored), so the result equals the naive probe loop up to the rounding that the difference
 * quotient amplifies (about ε·|f|/h, see the test). The cost drops from 2·39,760 forward passes
 * (batch 100, 784–50–10) to a few hundred thousand single-sample updates.
 *
 * @example
 * ```ts
 * import { tensor, twoLayerNet, twoLayerNetNumericalGradient } from 'gradstream'
 *
 * const net = twoLayerNet({ inputSize: 3, hiddenSize: 2, outputSize: 2, seed: 1 })
 * const x = tensor([[0.5, 0, 1], [0, 0, 0.2]])
 * const t = tensor([[1, 0], [0, 1]])
 * const g = twoLayerNetNumericalGradient(net.params, x, t) // { W1 [3,2], b1 [2], W2 [2,2], b2 [2] }
 * g.W1.data[2] // 0: pixel 1 is zero in every sample, so W1[1][·] moves nothing
 * // equals net.numericalGradient(net.params, x, t) up to rounding (≈ ε·|f|/h); on MNIST
 * // (784–50–10, batch 100) hundreds of times sooner
 * ```
 * @param params `W1 [D,H]`, `b1 [H]`, `W2 [H,C]`, `b2 [C]`
 * @param x inputs `[N,D]` (or one `[D]`)
 * @param t one-hot targets `[N,C]` or labels `[N]`
 * @throws {ShapeError} `twoLayerNetNumericalGradient: x: expected shape [N,784] to match W1 [784,50], got [100,783]`
 * @throws {RangeError} `twoLayerNetNumericalGradient: h: expected a positive finite number, got 0`
 * @see twoLayerNet (its `numericalGradient` calls this one where it applies)
 */
export function twoLayerNetNumericalGradient(
  params: TwoLayerNetWeights,
  x: TensorLike,
  t: TensorLike,
  opts: TwoLayerNetNumericalGradientOptions = {},
): { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor } {
  const fn = 'twoLayerNetNumericalGradient'
  const h = opts.h ?? 1e-4
  expectPositive(fn, 'h', h)
  const kind = opts.loss ?? 'crossEntropy'
  if (kind !== 'crossEntropy' && kind !== 'softmaxCrossEntropy') {
    throw new RangeError(
      `${fn}: loss: expected "crossEntropy" or "softmaxCrossEntropy", got ${show(kind)}`,
    )
  }
  const { W1, b1, W2, b2 } = params
  const [D, H] = W1.shape
  const C = W2.shape[1]
  const check = (name: string, shape: readonly number[], want: number[]) => {
    if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
      throw new ShapeError(
        `${fn}: ${name}: expected shape ${showShape(want)}, got ${showShape(shape)}`,
      )
    }
  }
  if (W1.shape.length !== 2) check('W1', W1.shape, [D, H])
  check('b1', b1.shape, [H])
  if (W2.shape.length !== 2 || W2.shape[0] !== H) check('W2', W2.shape, [H, C])
  check('b2', b2.shape, [C])
  const x0 = asTensor(fn, 'x', x)
  const xt = x0.shape.length === 1 ? { shape: [1, x0.shape[0]], data: x0.data } : x0
  if (xt.shape.length !== 2 || xt.shape[1] !== D) {
    throw new ShapeError(
      `${fn}: x: expected shape [N,${D}] to match W1 ${showShape(W1.shape)}, got ${showShape(x0.shape)}`,
    )
  }
  const N = xt.shape[0]
  const X = xt.data

  // the unperturbed forward pass, kept: a1 (without bias folded apart), z1, a2
  const A1 = matmul(xt, W1).data
  for (let s = 0; s < N; s++) for (let j = 0; j < H; j++) A1[s * H + j] += b1.data[j]
  const Z1 = new Float64Array(N * H)
  for (let q = 0; q < Z1.length; q++) Z1[q] = 1 / (1 + Math.exp(-A1[q]))
  const A2 = matmul({ shape: [N, H], data: Z1 }, W2).data
  for (let s = 0; s < N; s++) for (let c = 0; c < C; c++) A2[s * C + c] += b2.data[c]

  // targets as weights per row (one-hot rows, or a label's 1)
  const t0 = asTensor(fn, 't', t)
  const tt =
    x0.shape.length === 1 && t0.shape.length <= 1
      ? { shape: t0.shape.length === 1 && t0.shape[0] === C ? [1, C] : [1], data: t0.data }
      : t0
  const targets = readBatch(fn, { shape: [N, C], data: A2 }, tt).t
  const T = new Float64Array(N * C)
  if (targets.kind === 'labels') for (let s = 0; s < N; s++) T[s * C + targets.labels[s]] = 1
  else T.set(targets.data)

  // Per sample, the logits' softmax terms at the base point, shifted by the row maximum m₀:
  // E₀[s][c] = exp(a2[s][c] − m₀). A probe moves logit c by a tiny uᶜ (≈ 1e-5), and
  // exp(a2 + u − m₀) = E₀·eᵘ, with eᵘ from its Taylor series through u⁴ when |u| < 1e-3 (the
  // remainder < u⁵/120 < 1e-17, below double rounding) — one exp per sample instead of C.
  const M0 = new Float64Array(N)
  const E0 = new Float64Array(N * C)
  for (let s = 0; s < N; s++) {
    let m = -Infinity
    for (let c = 0; c < C; c++)
      if (A2[s * C + c] > m || Number.isNaN(A2[s * C + c])) m = A2[s * C + c]
    M0[s] = m
    for (let c = 0; c < C; c++) E0[s * C + c] = Math.exp(A2[s * C + c] - m)
  }
  const expSmall = (u: number): number =>
    u < 1e-3 && u > -1e-3 ? 1 + u * (1 + u * (0.5 + u * (1 / 6 + u * (1 / 24)))) : Math.exp(u)
  const u = new Float64Array(C)
  const e = new Float64Array(C)
  const cross = kind === 'crossEntropy'
  /** Lₛ when the logits of sample s move by u (the loss's own formula, shift m₀). */
  const rowLoss = (s: number): number => {
    const o = s * C
    let sum = 0
    for (let c = 0; c < C; c++) sum += e[c] = E0[o + c] * expSmall(u[c])
    let L = 0
    if (cross) {
      for (let c = 0; c < C; c++) {
        const w = T[o + c]
        if (w !== 0) L -= w * Math.log(e[c] / sum + CROSS_ENTROPY_DELTA)
      }
    } else {
      const logS = Math.log(sum)
      for (let c = 0; c < C; c++) {
        const w = T[o + c]
        if (w !== 0) L += w * (logS - (A2[o + c] - M0[s] + u[c]))
      }
    }
    return L
  }
  /** Lₛ with hidden unit j's output moved from z1[s][j] to z: a2ₛ + (z − z1[s][j])·W2[j]. */
  const lossWithHidden = (s: number, j: number, z: number): number => {
    const dz = z - Z1[s * H + j]
    for (let c = 0; c < C; c++) u[c] = dz * W2.data[j * C + c]
    return rowLoss(s)
  }
  /** Lₛ with logit c moved by d. */
  const lossWithLogit = (s: number, c: number, d: number): number => {
    u.fill(0)
    u[c] = d
    return rowLoss(s)
  }
  const scale = 1 / (N * 2 * h)
  const sig = (a: number) => 1 / (1 + Math.exp(-a))

  // Fast path for one-hot targets: a probe that moves a1[s][j] by d changes Lₛ through
  //   dz = σ(a + d) − σ(a) = Σₖ σ⁽ᵏ⁾(a)·dᵏ/k!  (k = 1…4; σ⁽¹⁾ = z(1−z), σ⁽²⁾ = σ⁽¹⁾(1−2z),
  //        σ⁽³⁾ = σ⁽¹⁾(1−6z+6z²), σ⁽⁴⁾ = σ⁽¹⁾(1−2z)(1−12z+12z²); remainder < |d|⁵/120·max|σ⁽⁵⁾|
  //        < 1e-18 for |d| < 1e-3, far below the rounding of σ(a + d) − σ(a) itself)
  //   S' = Σ_c E₀[s][c]·exp(dz·W2[j][c]) = S₀ + Σₖ dzᵏ·Pₖ[s][j],  Pₖ = Σ_c E₀·W2[j][c]ᵏ/k!
  //        (k = 1…4; remainder < S₀·(|dz|·max_c|W2[j][c]|)⁵/120 < 1e-17·S₀ when that is < 1e-3)
  // and Lₛ(+) − Lₛ(−) is one log of a ratio. Probes outside those bounds take the direct path.
  const label = new Int32Array(N).fill(-1)
  let oneHot = true
  for (let s = 0; s < N && oneHot; s++) {
    for (let c = 0; c < C; c++) {
      const w = T[s * C + c]
      if (w === 1 && label[s] < 0) label[s] = c
      else if (w !== 0) oneHot = false
    }
    if (label[s] < 0) oneHot = false
  }
  const K1 = new Float64Array(N * H)
  const K2 = new Float64Array(N * H)
  const K3 = new Float64Array(N * H)
  const K4 = new Float64Array(N * H)
  const P1 = new Float64Array(N * H)
  const P2 = new Float64Array(N * H)
  const P3 = new Float64Array(N * H)
  const P4 = new Float64Array(N * H)
  const S0 = new Float64Array(N)
  const wmax = new Float64Array(H)
  if (oneHot) {
    for (let j = 0; j < H; j++)
      for (let c = 0; c < C; c++) wmax[j] = Math.max(wmax[j], Math.abs(W2.data[j * C + c]))
    for (let s = 0; s < N; s++) {
      let s0 = 0
      for (let c = 0; c < C; c++) s0 += E0[s * C + c]
      S0[s] = s0
      for (let j = 0; j < H; j++) {
        const q = s * H + j
        const z = Z1[q]
        const g = z * (1 - z)
        K1[q] = g
        K2[q] = (g * (1 - 2 * z)) / 2
        K3[q] = (g * (1 - 6 * z + 6 * z * z)) / 6
        K4[q] = (g * (1 - 2 * z) * (1 - 12 * z + 12 * z * z)) / 24
        let p1 = 0
        let p2 = 0
        let p3 = 0
        let p4 = 0
        for (let c = 0; c < C; c++) {
          const E = E0[s * C + c]
          const w = W2.data[j * C + c]
          const w2 = w * w
          p1 += E * w
          p2 += E * w2
          p3 += E * w2 * w
          p4 += E * w2 * w2
        }
        P1[q] = p1
        P2[q] = p2 / 2
        P3[q] = p3 / 6
        P4[q] = p4 / 24
      }
    }
  }
  /**
   * Lₛ(a1[s][j] + dPlus) − Lₛ(a1[s][j] + dMinus) on the fast path, or NaN when a bound fails
   * (the caller then evaluates both sides directly).
   */
  const fastDiff = (s: number, j: number, dPlus: number, dMinus: number): number => {
    if (!(Math.abs(dPlus) < 1e-3 && Math.abs(dMinus) < 1e-3)) return NaN
    const q = s * H + j
    const k1 = K1[q]
    const k2 = K2[q]
    const k3 = K3[q]
    const k4 = K4[q]
    const vp = dPlus * (k1 + dPlus * (k2 + dPlus * (k3 + dPlus * k4)))
    const vm = dMinus * (k1 + dMinus * (k2 + dMinus * (k3 + dMinus * k4)))
    const wm = wmax[j]
    if (!(Math.abs(vp) * wm < 1e-3 && Math.abs(vm) * wm < 1e-3)) return NaN
    const p1 = P1[q]
    const p2 = P2[q]
    const p3 = P3[q]
    const p4 = P4[q]
    const s0 = S0[s]
    const Sp = s0 + vp * (p1 + vp * (p2 + vp * (p3 + vp * p4)))
    const Sm = s0 + vm * (p1 + vm * (p2 + vm * (p3 + vm * p4)))
    const t = label[s]
    const wt = W2.data[j * C + t]
    const up = vp * wt
    const um = vm * wt
    if (cross) {
      const Et = E0[s * C + t]
      const ep = Et * (1 + up * (1 + up * (0.5 + up * (1 / 6 + up * (1 / 24)))))
      const em = Et * (1 + um * (1 + um * (0.5 + um * (1 / 6 + um * (1 / 24)))))
      return Math.log((em / Sm + CROSS_ENTROPY_DELTA) / (ep / Sp + CROSS_ENTROPY_DELTA))
    }
    return Math.log(Sp / Sm) - (up - um)
  }

  // W1: per input pixel i, only the samples where it is non-zero
  const gW1 = new Float64Array(D * H)
  const rows = new Int32Array(N)
  for (let i = 0; i < D; i++) {
    let nz = 0
    for (let s = 0; s < N; s++) if (X[s * D + i] !== 0) rows[nz++] = s
    if (nz === 0) continue
    for (let j = 0; j < H; j++) {
      const w = W1.data[i * H + j]
      const dp = w + h - w
      const dm = w - h - w
      let diff = 0
      for (let r = 0; r < nz; r++) {
        const s = rows[r]
        const xv = X[s * D + i]
        const fast = oneHot ? fastDiff(s, j, xv * dp, xv * dm) : NaN
        if (fast === fast) diff += fast
        else {
          const a = A1[s * H + j]
          diff += lossWithHidden(s, j, sig(a + xv * dp)) - lossWithHidden(s, j, sig(a + xv * dm))
        }
      }
      gW1[i * H + j] = diff * scale
    }
  }
  // b1: every sample, through one hidden unit
  const gb1 = new Float64Array(H)
  for (let j = 0; j < H; j++) {
    const b = b1.data[j]
    const dp = b + h - b
    const dm = b - h - b
    let diff = 0
    for (let s = 0; s < N; s++) {
      const fast = oneHot ? fastDiff(s, j, dp, dm) : NaN
      if (fast === fast) diff += fast
      else {
        const a = A1[s * H + j]
        diff += lossWithHidden(s, j, sig(a + dp)) - lossWithHidden(s, j, sig(a + dm))
      }
    }
    gb1[j] = diff * scale
  }
  // W2 and b2: one logit per sample
  const gW2 = new Float64Array(H * C)
  for (let j = 0; j < H; j++) {
    for (let c = 0; c < C; c++) {
      const w = W2.data[j * C + c]
      const dp = w + h - w
      const dm = w - h - w
      let diff = 0
      for (let s = 0; s < N; s++) {
        const z = Z1[s * H + j]
        diff += lossWithLogit(s, c, z * dp) - lossWithLogit(s, c, z * dm)
      }
      gW2[j * C + c] = diff * scale
    }
  }
  const gb2 = new Float64Array(C)
  for (let c = 0; c < C; c++) {
    const b = b2.data[c]
    const dp = b + h - b
    const dm = b - h - b
    let diff = 0
    for (let s = 0; s < N; s++) diff += lossWithLogit(s, c, dp) - lossWithLogit(s, c, dm)
    gb2[c] = diff * scale
  }
  return {
    W1: { shape: [D, H], data: gW1 },
    b1: { shape: [H], data: gb1 },
    W2: { shape: [H, C], data: gW2 },
    b2: { shape: [C], data: gb2 },
  }
}
