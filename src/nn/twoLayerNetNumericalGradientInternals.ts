/**
 * The probes of `twoLayerNetNumericalGradient`, split so that a range of them can run alone (in a
 * worker, see src/parallel/twoLayerNetNumericalGradientParallel.ts): `planProbes` validates the
 * arguments and gathers them as plain arrays, `runProbes` computes the central differences of the
 * flat parameter indices [from, to) of `[W1, b1, W2, b2]` (row-major, in that order). Each
 * parameter's probe is computed by the same code whatever the range, so any split gives the
 * single run's result bit for bit.
 */
import type * as t from 'io-ts'
import { ShapeError, show, showShape } from '../errors.js'
import { CROSS_ENTROPY_DELTA } from '../functions/crossEntropyError.js'
import { asTensor, readBatch } from '../functions/lossInternals.js'
import type { TensorLike } from '../functions/tensorLike.js'
import { matmul } from '../tensor/linalg.js'
import type { Tensor } from '../tensor/tensor.js'
import type { TwoLayerNetNumericalGradientOptionsC } from '../state/configCodecs.js'
import { expectWeights, type TwoLayerWeights } from './twoLayerWeights.js'

/** A validated problem: sizes, step, loss and the data as flat row-major arrays. */
export interface ProbePlan {
  readonly D: number
  readonly H: number
  readonly C: number
  readonly N: number
  readonly h: number
  readonly cross: boolean
  /** inputs [N,D] */
  readonly X: Float64Array
  readonly W1: Float64Array
  readonly b1: Float64Array
  readonly W2: Float64Array
  readonly b2: Float64Array
  /** targets as weights [N,C] (one-hot rows, or a label's 1) */
  readonly T: Float64Array
}

/** The gradient's four arrays, written by `runProbes` at the indices of its range. */
export interface ProbeOutput {
  readonly W1: Float64Array
  readonly b1: Float64Array
  readonly W2: Float64Array
  readonly b2: Float64Array
}

/** The number of probes (parameters): D·H + H + H·C + C. */
export function probeCount(p: ProbePlan): number {
  return p.D * p.H + p.H + p.H * p.C + p.C
}

/**
 * Validates `twoLayerNetNumericalGradient`'s arguments (messages under `fn`) into a plan; `opts`
 * is already decoded by the caller's codec.
 */
export function planProbes(
  fn: string,
  params: TwoLayerWeights,
  x: TensorLike,
  t: TensorLike,
  opts: t.TypeOf<typeof TwoLayerNetNumericalGradientOptionsC>,
): ProbePlan {
  const h = opts.h ?? 1e-4
  const kind = opts.loss ?? 'softmaxCrossEntropy'
  expectWeights(fn, params)
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

  // targets as weights per row (one-hot rows, or a label's 1)
  const t0 = asTensor(fn, 't', t)
  const tt =
    x0.shape.length === 1 && t0.shape.length <= 1
      ? { shape: t0.shape.length === 1 && t0.shape[0] === C ? [1, C] : [1], data: t0.data }
      : t0
  const targets = readBatch(fn, { shape: [N, C], data: new Float64Array(N * C) }, tt).t
  const T = new Float64Array(N * C)
  if (targets.kind === 'labels') for (let s = 0; s < N; s++) T[s * C + targets.labels[s]] = 1
  else T.set(targets.data)

  return {
    D,
    H,
    C,
    N,
    h,
    cross: kind === 'crossEntropy',
    X: xt.data,
    W1: W1.data,
    b1: b1.data,
    W2: W2.data,
    b2: b2.data,
    T,
  }
}

/**
 * Writes the central differences of the flat parameter indices [from, to) of `[W1, b1, W2, b2]`
 * into `out` (the other entries are left as they are). The algorithm is described at
 * `twoLayerNetNumericalGradient`.
 */
export function runProbes(plan: ProbePlan, from: number, to: number, out: ProbeOutput): void {
  const { D, H, C, N, h, cross, X, T } = plan
  const W1 = { shape: [D, H], data: plan.W1 }
  const b1 = { data: plan.b1 }
  const W2 = { shape: [H, C], data: plan.W2 }
  const b2 = { data: plan.b2 }
  const xt = { shape: [N, D], data: X }
  /** The part [lo, hi) of the range inside the section of `length` parameters at `offset`. */
  const section = (offset: number, length: number): [number, number] => [
    Math.min(length, Math.max(0, from - offset)),
    Math.min(length, Math.max(0, to - offset)),
  ]

  // the unperturbed forward pass, kept: a1 (without bias folded apart), z1, a2
  const A1 = matmul(xt, W1).data
  for (let s = 0; s < N; s++) for (let j = 0; j < H; j++) A1[s * H + j] += b1.data[j]
  const Z1 = new Float64Array(N * H)
  for (let q = 0; q < Z1.length; q++) Z1[q] = 1 / (1 + Math.exp(-A1[q]))
  const A2 = matmul({ shape: [N, H], data: Z1 }, W2).data
  for (let s = 0; s < N; s++) for (let c = 0; c < C; c++) A2[s * C + c] += b2.data[c]

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
  const gW1 = out.W1
  const rows = new Int32Array(N)
  const [w1Lo, w1Hi] = section(0, D * H)
  for (let i = Math.floor(w1Lo / H); i * H < w1Hi; i++) {
    const j0 = Math.max(0, w1Lo - i * H)
    const j1 = Math.min(H, w1Hi - i * H)
    let nz = 0
    for (let s = 0; s < N; s++) if (X[s * D + i] !== 0) rows[nz++] = s
    if (nz === 0) {
      for (let j = j0; j < j1; j++) gW1[i * H + j] = 0
      continue
    }
    for (let j = j0; j < j1; j++) {
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
  const gb1 = out.b1
  const [b1Lo, b1Hi] = section(D * H, H)
  for (let j = b1Lo; j < b1Hi; j++) {
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
  const gW2 = out.W2
  const [w2Lo, w2Hi] = section(D * H + H, H * C)
  for (let j = Math.floor(w2Lo / C); j * C < w2Hi; j++) {
    const c0 = Math.max(0, w2Lo - j * C)
    const c1 = Math.min(C, w2Hi - j * C)
    for (let c = c0; c < c1; c++) {
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
  const gb2 = out.b2
  const [b2Lo, b2Hi] = section(D * H + H + H * C, C)
  for (let c = b2Lo; c < b2Hi; c++) {
    const b = b2.data[c]
    const dp = b + h - b
    const dm = b - h - b
    let diff = 0
    for (let s = 0; s < N; s++) diff += lossWithLogit(s, c, dp) - lossWithLogit(s, c, dm)
    gb2[c] = diff * scale
  }
}
