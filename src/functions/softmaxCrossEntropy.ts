import { pairwiseSum } from '../tensor/reduce.js'
import { readBatch } from './lossInternals.js'
import type { TensorLike } from './tensorLike.js'

/**
 * Softmax followed by cross-entropy, fused and stable: for each row of logits z,
 * `log Σⱼ exp(zⱼ) − z_target` computed as `log Σⱼ exp(zⱼ − m) − (z_target − m)` with m the
 * row maximum (log-sum-exp), averaged over the batch. No δ is needed: it never takes log of an
 * underflowed probability, so it stays finite and exact for logits of any size where
 * `crossEntropyError(softmax(z), t)` saturates at −log(1e-7) ≈ 16.1. Its gradient with respect
 * to z is (softmax(z) − t) / N.
 *
 * @example
 * ```ts
 * import { softmaxCrossEntropy } from 'gradstream'
 *
 * console.log(softmaxCrossEntropy([[2, 1, 0]], [0])) // → 0.4076059644443804
 * // log(1 + e⁻¹ + e⁻²)
 * console.log(softmaxCrossEntropy([1000, 0, 0], 2)) // → 1000
 * // crossEntropyError(softmax(z), 2) gives 16.118
 * ```
 * @param z logits, [C] or [N, C]
 * @param t one-hot (or distribution) targets of `z`'s shape, or labels ([N], or a number)
 * @throws {ShapeError} `softmaxCrossEntropy: t: expected shape [2,3] (one-hot) or [2] (labels) to match y [2,3], got [2,4]`
 * @see softmax, crossEntropyError
 */
export function softmaxCrossEntropy(z: TensorLike, t: TensorLike): number {
  const b = readBatch('softmaxCrossEntropy', z, t)
  const { rows, width } = b
  const e = new Float64Array(width)
  const rowLoss = new Float64Array(rows)
  for (let r = 0; r < rows; r++) {
    const o = r * width
    let m = -Infinity
    for (let j = 0; j < width; j++) if (b.y[o + j] > m || Number.isNaN(b.y[o + j])) m = b.y[o + j]
    for (let j = 0; j < width; j++) e[j] = Math.exp(b.y[o + j] - m)
    const logS = Math.log(pairwiseSum(e, 0, width))
    if (b.t.kind === 'labels') rowLoss[r] = logS - (b.y[o + b.t.labels[r]] - m)
    else {
      let s = 0
      for (let j = 0; j < width; j++) {
        const tj = b.t.data[o + j]
        if (tj !== 0) s += tj * (logS - (b.y[o + j] - m))
      }
      rowLoss[r] = s
    }
  }
  return pairwiseSum(rowLoss, 0, rows) / rows
}
