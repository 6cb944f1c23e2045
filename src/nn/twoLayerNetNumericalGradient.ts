import type { TensorLike } from '../functions/tensorLike.js'
import type { Tensor } from '../tensor/tensor.js'
import type * as t from 'io-ts'
import { TwoLayerNetNumericalGradientOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { planProbes, probeCount, runProbes } from './twoLayerNetNumericalGradientInternals.js'
import type { TwoLayerWeights } from './twoLayerWeights.js'

/** The parameters probed: the book's `W1, b1, W2, b2` (the same four tensors as `TwoLayerWeights`). */
export type TwoLayerNetWeights = TwoLayerWeights

/** Options of `twoLayerNetNumericalGradient`: the step `h` and the `loss` (codec `TwoLayerNetNumericalGradientOptionsC`). */
export type TwoLayerNetNumericalGradientOptions = t.TypeOf<
  typeof TwoLayerNetNumericalGradientOptionsC
>

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
 * @see twoLayerNet (its `numericalGradient` calls this one where it applies),
 *   twoLayerNetNumericalGradientParallel (the probes split across worker threads)
 */
export function twoLayerNetNumericalGradient(
  params: TwoLayerNetWeights,
  x: TensorLike,
  t: TensorLike,
  opts: TwoLayerNetNumericalGradientOptions = {},
): { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor } {
  const fn = 'twoLayerNetNumericalGradient'
  const o = decodeOptions(TwoLayerNetNumericalGradientOptionsC, opts, fn, 'opts')
  const plan = planProbes(fn, params, x, t, o)
  const { D, H, C } = plan
  const out = {
    W1: new Float64Array(D * H),
    b1: new Float64Array(H),
    W2: new Float64Array(H * C),
    b2: new Float64Array(C),
  }
  runProbes(plan, 0, probeCount(plan), out)
  return {
    W1: { shape: [D, H], data: out.W1 },
    b1: { shape: [H], data: out.b1 },
    W2: { shape: [H, C], data: out.W2 },
    b2: { shape: [C], data: out.b2 },
  }
}
