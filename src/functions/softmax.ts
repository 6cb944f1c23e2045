import { ShapeError, showShape } from '../errors.js'
import type { Tensor } from '../tensor/tensor.js'
import { asTensor } from './lossInternals.js'
import { softmaxRowsInto } from './softmaxInternals.js'
import type { TensorLike } from './tensorLike.js'

/**
 * The softmax along the last axis: yᵢ = exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x), for a vector or
 * for every row of a batch (any rank ≥ 1). Subtracting the row maximum (the book's overflow
 * guard) leaves the result unchanged mathematically and keeps exp from overflowing: softmax of
 * [1010, 1000, 990] is finite and sums to 1. Same arithmetic as the book's NumPy code (NumPy's
 * pairwise summation order), so results agree bit for bit where the elementary functions do.
 *
 * @example
 * ```ts
 * import { softmax, tensor } from 'gradstream'
 *
 * const show = (y: { data: Float64Array }) => Array.from(y.data, (v) => v.toPrecision(6)).join(' ')
 * console.log(show(softmax(tensor([0.3, 2.9, 4.0])))) // → 0.0182113 0.245192 0.736597
 * console.log(show(softmax(tensor([1010, 1000, 990])))) // → 0.999955 0.0000453979 2.06106e-9
 * ```
 * @param x a tensor (or nested array) of rank ≥ 1
 * @throws {ShapeError} `softmax: x: expected rank ≥ 1, got shape []`
 */
export function softmax(x: Tensor | TensorLike): Tensor {
  const t = asTensor('softmax', 'x', x)
  if (t.shape.length < 1) {
    throw new ShapeError(`softmax: x: expected rank ≥ 1, got shape ${showShape(t.shape)}`)
  }
  const width = t.shape[t.shape.length - 1]
  const out = new Float64Array(t.data.length)
  softmaxRowsInto(
    t.data,
    out,
    width > 0 ? t.data.length / width : 0,
    width,
    new Float64Array(width),
  )
  return { shape: [...t.shape], data: out }
}
