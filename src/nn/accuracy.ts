import { ShapeError, show, showShape } from '../errors.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'

/** Anything that maps inputs to class scores: `twoLayerNet`, `mlp`, or your own net. */
export interface Classifier<P> {
  /** class scores (logits or probabilities: only their argmax matters), [N, C] for x [N, …] */
  logits(params: P, x: Tensor): Tensor
}

const ROWS_PER_CHUNK = 5000

/**
 * The fraction of examples whose highest-scoring class is the target (the book's
 * `accuracy`: `np.sum(argmax(y) == argmax(t)) / N`), with targets as labels `[N]` or one-hot
 * rows `[N, C]`. Large sets (60,000 MNIST images) are scored in chunks of 5,000 rows so the
 * hidden activations stay small. Ties go to the first class, as `np.argmax`.
 *
 * @example
 * ```ts
 * import { accuracy, matmul, tensor, type Tensor } from 'gradstream'
 *
 * // any { logits(params, x) } is a classifier (a twoLayerNet: accuracy(net, net.params, x, t));
 * // here a linear one, scores = x·W, with W = I: the larger feature is the class
 * const linear = { logits: (W: Tensor, x: Tensor) => matmul(x, W) }
 * const W = tensor([
 *   [1, 0],
 *   [0, 1],
 * ])
 * const x = tensor([
 *   [0.9, 0.1],
 *   [0.2, 0.8],
 *   [0.6, 0.4],
 *   [0.3, 0.7],
 * ])
 * console.log(accuracy(linear, W, x, tensor([0, 1, 1, 1]))) // → 0.75
 * const oneHot = tensor([
 *   [1, 0],
 *   [0, 1],
 *   [0, 1],
 *   [0, 1],
 * ])
 * console.log(accuracy(linear, W, x, oneHot)) // → 0.75
 * ```
 * @throws {ShapeError} `accuracy: t: expected [N] labels or [N,10] one-hot rows for N = 100, got shape [99]`
 */
export function accuracy<P>(net: Classifier<P>, params: P, x: Tensor, t: Tensor): number {
  if (!net || typeof net.logits !== 'function') {
    throw new TypeError(
      `accuracy: net: expected an object with a logits(params, x) method, got ${show(net)}`,
    )
  }
  if (!isTensor(x) || x.shape.length < 1) {
    throw new TypeError(`accuracy: x: expected a tensor with one example per row, got ${show(x)}`)
  }
  if (!isTensor(t)) throw new TypeError(`accuracy: t: expected a tensor, got ${show(t)}`)
  const n = x.shape[0]
  const rowSize = n === 0 ? 0 : x.data.length / n
  let hits = 0
  for (let start = 0; start < n; start += ROWS_PER_CHUNK) {
    const end = Math.min(n, start + ROWS_PER_CHUNK)
    const chunk: Tensor = {
      shape: [end - start, ...x.shape.slice(1)],
      data: x.data.subarray(start * rowSize, end * rowSize),
    }
    const y = net.logits(params, chunk)
    const c = y.shape[y.shape.length - 1]
    const labels = t.shape.length === 1 && t.shape[0] === n
    const rows = t.shape.length === 2 && t.shape[0] === n && t.shape[1] === c
    if (!labels && !rows) {
      throw new ShapeError(
        `accuracy: t: expected [N] labels or [N,${c}] one-hot rows for N = ${n}, got shape ${showShape(t.shape)}`,
      )
    }
    for (let i = start; i < end; i++) {
      const o = (i - start) * c
      let best = 0
      for (let j = 1; j < c; j++) if (y.data[o + j] > y.data[o + best]) best = j
      let target = 0
      if (labels) target = t.data[i]
      else for (let j = 1; j < c; j++) if (t.data[i * c + j] > t.data[i * c + target]) target = j
      if (best === target) hits++
    }
  }
  return n === 0 ? NaN : hits / n
}
