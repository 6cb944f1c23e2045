import { ShapeError, showShape } from '../errors.js'
import { pairwiseSum } from '../tensor/reduce.js'
import { asTensor } from './lossInternals.js'
import type { TensorLike } from './tensorLike.js'

/**
 * The book's sum of squared errors: ½·Σ(y − t)², over every element (no division by the
 * batch size), summed in NumPy's order so the book's numbers come out bit for bit.
 *
 * @example
 * ```ts
 * import { meanSquaredError } from 'gradstream'
 *
 * const t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
 * console.log(meanSquaredError([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0], t))
 * // → 0.09750000000000003
 * console.log(meanSquaredError([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0], t))
 * // → 0.5975
 * ```
 * @param y predictions, a tensor or nested array
 * @param t targets of exactly `y`'s shape
 * @throws {ShapeError} `meanSquaredError: shapes [10] and [9] differ`
 */
export function meanSquaredError(y: TensorLike, t: TensorLike): number {
  const a = asTensor('meanSquaredError', 'y', y)
  const b = asTensor('meanSquaredError', 't', t)
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(
      `meanSquaredError: shapes ${showShape(a.shape)} and ${showShape(b.shape)} differ`,
    )
  }
  const sq = new Float64Array(a.data.length)
  for (let i = 0; i < sq.length; i++) {
    const d = a.data[i] - b.data[i]
    sq[i] = d * d
  }
  return 0.5 * pairwiseSum(sq, 0, sq.length)
}
