import { pairwiseSum } from '../tensor/reduce.js'
import { readBatch } from './lossInternals.js'
import type { TensorLike } from './tensorLike.js'

/** The book's δ: keeps log away from log(0) = −∞. */
export const CROSS_ENTROPY_DELTA = 1e-7

/**
 * The book's cross-entropy error, averaged over the batch:
 * `−Σ t·log(y + 1e-7) / batchSize` for one-hot (or any distribution) targets, and
 * `−Σ log(y[i, tᵢ] + 1e-7) / batchSize` for label indices. A 1-D `y` is one row (the book's
 * `reshape(1, size)` rule). Summed in NumPy's order, so the book's numbers come out bit for bit.
 *
 * @example
 * ```ts
 * import { crossEntropyError } from 'gradstream'
 *
 * const t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
 * console.log(crossEntropyError([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0], t))
 * // → 0.510825457099338
 * console.log(crossEntropyError([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0], 2))
 * // → 2.302584092994546
 * ```
 * @param y probabilities, [C] or [N, C]
 * @param t one-hot targets of `y`'s shape, or labels: [N] for a batch, a number for one row
 * @throws {ShapeError} `crossEntropyError: t: expected shape [2,3] (one-hot) or [2] (labels) to match y [2,3], got [2,4]`
 * @throws {RangeError} `crossEntropyError: t[1]: expected an integer label in [0, 2], got 3`
 * @see softmaxCrossEntropy (fused with softmax, stable for any logits)
 */
export function crossEntropyError(y: TensorLike, t: TensorLike): number {
  const b = readBatch('crossEntropyError', y, t)
  const delta = CROSS_ENTROPY_DELTA
  if (b.t.kind === 'oneHot') {
    const td = b.t.data
    const terms = new Float64Array(b.y.length)
    for (let i = 0; i < terms.length; i++) terms[i] = td[i] * Math.log(b.y[i] + delta)
    return -pairwiseSum(terms, 0, terms.length) / b.rows
  }
  const terms = new Float64Array(b.rows)
  for (let i = 0; i < b.rows; i++) terms[i] = Math.log(b.y[i * b.width + b.t.labels[i]] + delta)
  return -pairwiseSum(terms, 0, terms.length) / b.rows
}
