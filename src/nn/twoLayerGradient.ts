import { readBatch, asTensor, type TensorLike } from '../functions/lossInternals.js'
import { softmax } from '../functions/softmax.js'
import { softmaxCrossEntropy } from '../functions/softmaxCrossEntropy.js'
import { ShapeError, showShape } from '../errors.js'
import { heldLeft, matmul } from '../tensor/linalg.js'
import type { Tensor } from '../tensor/tensor.js'

/** The parameters backprop reads: the book's `W1, b1, W2, b2`. */
export interface TwoLayerWeights {
  readonly W1: Tensor
  readonly b1: Tensor
  readonly W2: Tensor
  readonly b2: Tensor
}

/** Column sums of an [n, m] buffer: the bias gradient Σᵢ δᵢ (the book's `np.sum(dy, axis=0)`). */
function columnSums(d: Float64Array, n: number, m: number): Tensor {
  const out = new Float64Array(m)
  for (let i = 0; i < n; i++) {
    const o = i * m
    for (let j = 0; j < m; j++) out[j] += d[o + j]
  }
  return { shape: [m], data: out }
}

/**
 * The book's `TwoLayerNet.gradient` (§5.7) — backpropagation through affine → sigmoid → affine
 * → fused softmax-cross-entropy — together with the loss it differentiates:
 *
 *     a1 = x·W1 + b1   z1 = σ(a1)   a2 = z1·W2 + b2   y = softmax(a2)
 *     δ2 = (y − t) / N              ∂W2 = z1ᵀ·δ2   ∂b2 = Σᵢ δ2ᵢ
 *     δ1 = (δ2·W2ᵀ) ⊙ z1 ⊙ (1 − z1)   ∂W1 = xᵀ·δ1    ∂b1 = Σᵢ δ1ᵢ
 *
 * `loss` is `softmaxCrossEntropy(a2, t)`, so loss and gradient are exactly consistent. Targets
 * are one-hot rows (as the book trains), labels, or any rows of weights; for rows that do not
 * sum to 1, δ2 = (y·Σⱼtⱼ − t) / N, the exact gradient. The transposed products run as
 * transposed-operand matmuls (no transposed copies).
 *
 * @example
 * ```ts
 * const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10 })
 * const { loss, grad } = twoLayerGradient(net.params, xBatch, tBatch) // grad: { W1, b1, W2, b2 }
 * ```
 * @throws {ShapeError} `twoLayerNet.gradient: x: expected shape [N,784] to match W1 [784,50], got [100,783]`
 */
export function twoLayerGradient(
  p: TwoLayerWeights,
  xIn: TensorLike,
  tIn: TensorLike,
  fn = 'twoLayerNet.gradient',
): { loss: number; grad: { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor } } {
  const x0 = asTensor(fn, 'x', xIn)
  const x = x0.shape.length === 1 ? { shape: [1, x0.shape[0]], data: x0.data } : x0
  const [d, h] = p.W1.shape
  const k = p.W2.shape[1]
  if (x.shape.length !== 2 || x.shape[1] !== d) {
    throw new ShapeError(
      `${fn}: x: expected shape [N,${d}] to match W1 ${showShape(p.W1.shape)}, got ${showShape(x0.shape)}`,
    )
  }
  const n = x.shape[0]
  // x is the left operand of x·W1 and xᵀ·δ1: on the wasm backend it is copied and compressed
  // once for both (released below, whatever happens in between)
  const xs = heldLeft(x)
  try {
    // forward
    const a1 = xs.times(p.W1)
    // the loops read locals (not a1.data, p.b1.data, …): params arrive as frozen trees of many
    // shapes, and a property load the compiler cannot hoist would run per element
    const A1 = a1.data
    const B1 = p.b1.data
    const z1 = new Float64Array(n * h)
    for (let i = 0; i < n; i++) {
      const o = i * h
      for (let j = 0; j < h; j++) z1[o + j] = 1 / (1 + Math.exp(-(A1[o + j] + B1[j])))
    }
    const z1t: Tensor = { shape: [n, h], data: z1 }
    const a2 = matmul(z1t, p.W2)
    const A2 = a2.data
    const B2 = p.b2.data
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) A2[i * k + j] += B2[j]
    // one example ([D]) is a batch of one: its target becomes one row ([K]) or one label
    const t0 = asTensor(fn, 't', tIn)
    const t =
      x0.shape.length === 1 && t0.shape.length <= 1
        ? { shape: t0.shape.length === 1 && t0.shape[0] === k ? [1, k] : [1], data: t0.data }
        : t0
    const loss = softmaxCrossEntropy(a2, t)
    // backward
    const y = softmax(a2).data
    const targets = readBatch(fn, a2, t).t
    const dy = new Float64Array(n * k)
    if (targets.kind === 'labels') {
      const L = targets.labels
      for (let i = 0; i < n; i++) {
        const o = i * k
        for (let j = 0; j < k; j++) dy[o + j] = y[o + j] / n
        dy[o + L[i]] -= 1 / n
      }
    } else {
      const T = targets.data
      for (let i = 0; i < n; i++) {
        const o = i * k
        let s = 0
        for (let j = 0; j < k; j++) s += T[o + j]
        for (let j = 0; j < k; j++) dy[o + j] = (y[o + j] * s - T[o + j]) / n
      }
    }
    const dyt: Tensor = { shape: [n, k], data: dy }
    const W2 = matmul(z1t, dyt, { transposeA: true })
    const b2 = columnSums(dy, n, k)
    const da1 = matmul(dyt, p.W2, { transposeB: true })
    const dz1 = da1.data
    for (let i = 0; i < dz1.length; i++) dz1[i] *= z1[i] * (1 - z1[i])
    const W1 = xs.transposeTimes(da1)
    const b1 = columnSums(dz1, n, h)
    return { loss, grad: { W1, b1, W2, b2 } }
  } finally {
    xs.release()
  }
}
