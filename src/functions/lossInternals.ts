import { ShapeError, show, showShape } from '../errors.js'
import { expectTensor, isTensor, type NestedArray, type Tensor, tensor } from '../tensor/tensor.js'
import type { TensorLike } from './tensorLike.js'

/** A tensor from a tensor or nested array; other values are a TypeError naming `field`. */
export function asTensor(fn: string, field: string, v: unknown): Tensor {
  if (isTensor(v)) {
    expectTensor(fn, field, v) // its shape holds its data
    return v
  }
  if (typeof v === 'number' || Array.isArray(v)) {
    try {
      return tensor(v as NestedArray)
    } catch (e) {
      // re-attribute the nested-array error to this function and field
      const msg = (e as Error).message.replace(/^tensor: /, '')
      const E = e instanceof ShapeError ? ShapeError : TypeError
      throw new E(`${fn}: ${field}: ${msg}`)
    }
  }
  throw new TypeError(
    `${fn}: ${field}: expected a tensor or a nested array of numbers, got ${show(v)}`,
  )
}

/** Targets read against predictions of `rows` × `width`: one-hot rows, or one label per row. */
export type Targets =
  | { readonly kind: 'oneHot'; readonly data: Float64Array }
  | { readonly kind: 'labels'; readonly labels: Int32Array }

/** A batch of predictions `y` ([C] counts as one row, the book's 1-D reshape rule) with targets. */
export interface PredictionBatch {
  readonly rows: number
  readonly width: number
  readonly y: Float64Array
  readonly t: Targets
}

/**
 * Reads `y` ([C] or [N, C]) and `t` with the book's rule: a 1-D `y` is one row; `t` of `y`'s
 * shape is one-hot (or any distribution), `t` with one value per row is a label index
 * (shape [N] for a batch; a number, [] or [1] for one row). Anything else is a ShapeError
 * naming both shapes.
 */
export function readBatch(fn: string, yIn: unknown, tIn: unknown): PredictionBatch {
  const y = asTensor(fn, 'y', yIn)
  const t = asTensor(fn, 't', tIn)
  if (y.shape.length < 1 || y.shape.length > 2) {
    throw new ShapeError(`${fn}: y: expected shape [C] or [N,C], got ${showShape(y.shape)}`)
  }
  const rows = y.shape.length === 1 ? 1 : y.shape[0]
  const width = y.shape[y.shape.length - 1]
  const same = t.shape.length === y.shape.length && t.shape.every((d, i) => d === y.shape[i])
  if (same) return { rows, width, y: y.data, t: { kind: 'oneHot', data: t.data } }
  const labelShape = y.shape.length === 1 ? [] : [rows]
  const isLabels =
    y.shape.length === 1
      ? t.shape.length === 0 || (t.shape.length === 1 && t.shape[0] === 1)
      : t.shape.length === 1 && t.shape[0] === rows
  if (!isLabels) {
    throw new ShapeError(
      `${fn}: t: expected shape ${showShape(y.shape)} (one-hot) or ${showShape(labelShape)} (labels) to match y ${showShape(y.shape)}, got ${showShape(t.shape)}`,
    )
  }
  const labels = new Int32Array(rows)
  for (let i = 0; i < rows; i++) {
    const v = t.data[i]
    if (!Number.isInteger(v) || v < 0 || v >= width) {
      const where = y.shape.length === 1 ? 't' : `t[${i}]`
      throw new RangeError(
        `${fn}: ${where}: expected an integer label in [0, ${width - 1}], got ${show(v)}`,
      )
    }
    labels[i] = v
  }
  return { rows, width, y: y.data, t: { kind: 'labels', labels } }
}
