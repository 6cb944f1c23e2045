import { expectInteger, show } from '../errors.js'
import { allocate, type Tensor } from '../tensor/tensor.js'

/**
 * One-hot rows for integer class labels: label `k` becomes a row of `classes` zeros with a 1 at
 * `k` (the book's `one_hot_label=True`).
 *
 * @example
 * ```ts
 * import { oneHot, toArray } from 'gradstream'
 *
 * console.log(toArray(oneHot([2, 0], 3))) // → [ [ 0, 0, 1 ], [ 1, 0, 0 ] ]
 * try {
 *   oneHot([2, 3], 3)
 * } catch (e) {
 *   console.log(String(e))
 *   // → RangeError: oneHot: labels[1]: expected an integer in [0, 2], got 3
 * }
 * ```
 * @throws {RangeError} `oneHot: labels[1]: expected an integer in [0, 2], got 3`
 */
export function oneHot(labels: ArrayLike<number>, classes = 10): Tensor {
  expectInteger('oneHot', 'classes', classes, 1)
  if (typeof labels !== 'object' || labels === null || !Number.isInteger(labels.length)) {
    throw new TypeError(`oneHot: labels: expected an array of integers, got ${show(labels)}`)
  }
  const n = labels.length
  const data = allocate('oneHot', [n, classes])
  for (let i = 0; i < n; i++) {
    const k = labels[i]
    if (!Number.isInteger(k) || k < 0 || k >= classes) {
      throw new RangeError(
        `oneHot: labels[${i}]: expected an integer in [0, ${classes - 1}], got ${show(k)}`,
      )
    }
    data[i * classes + k] = 1
  }
  return { shape: [n, classes], data }
}
