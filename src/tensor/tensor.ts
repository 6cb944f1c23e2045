import { ShapeError, show, showShape } from '../errors.js'
import { lazyDataOf, lengthOf } from './lazyData.js'

/**
 * An n-dimensional array of float64 values stored row-major in `data`. A rank-0 tensor
 * (`shape: []`) holds one value. Tensors are values: no gradstream operation writes into the
 * `data` of a tensor it was given; each allocates its output.
 */
export interface Tensor {
  readonly shape: readonly number[]
  readonly data: Float64Array
}

/** A nested array of numbers, as `tensor` accepts and `toArray` returns. */
export type NestedArray = number | readonly NestedArray[]

/**
 * True for a gradstream tensor: an object with a `shape` array and `data` Float64Array.
 *
 * @example
 * ```ts
 * import { isTensor, tensor } from 'gradstream'
 *
 * console.log(isTensor(tensor([1, 2]))) // → true
 * console.log(isTensor([1, 2])) // → false
 * ```
 */
export function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    // a lazy tensor (lazyData.ts) is one without its data being made by asking
    (lazyDataOf(value) !== undefined || (value as Tensor).data instanceof Float64Array) &&
    Array.isArray((value as Tensor).shape)
  )
}

/**
 * The number of elements of a shape: the product of its dimensions (1 for `[]`).
 *
 * @example
 * ```ts
 * import { sizeOf } from 'gradstream'
 *
 * console.log(sizeOf([2, 3, 4])) // → 24
 * console.log(sizeOf([])) // → 1
 * ```
 */
export function sizeOf(shape: readonly number[]): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(`sizeOf: shape: expected an array of numbers, got ${show(shape)}`)
  }
  let n = 1
  for (const d of shape) n *= d
  return n
}

/**
 * Checks that `shape` is an array of non-negative integers, naming `fn` and the bad dimension:
 * `zeros: shape[1]: expected a non-negative integer, got -1 in [2,-1]`.
 */
/**
 * Throws unless `t` is a tensor whose shape (non-negative integers) holds exactly its data's
 * length, naming `fn` and `field`: `add: b: expected a tensor or a number, got undefined`. For the
 * entries of the tensor operations; O(rank), nothing per element.
 */
export function expectTensor(
  fn: string,
  field: string,
  t: unknown,
  what = 'a tensor',
): asserts t is Tensor {
  if (!isTensor(t)) throw new TypeError(`${fn}: ${field}: expected ${what}, got ${show(t)}`)
  const { shape } = t
  // a lazy tensor's length, its data not made by asking
  const length = lengthOf(t)
  let n = 1
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${fn}: ${field}.shape[${i}]: expected a non-negative integer, got ${show(d)} in ${show(shape)}`,
      )
    }
    n *= d
  }
  if (n !== length) {
    throw new ShapeError(
      `${fn}: ${field}: shape ${showShape(shape)} holds ${n} values, got ${length}`,
    )
  }
}

/** A zero-filled array for `shape` (checked), or a RangeError naming `fn` if it cannot be made. */
export function allocate(fn: string, shape: readonly number[]): Float64Array {
  checkShape(fn, shape)
  const n = sizeOf(shape)
  try {
    return new Float64Array(n)
  } catch {
    throw new RangeError(
      `${fn}: shape: ${showShape(shape)} holds ${n} values, too many to allocate`,
    )
  }
}

export function checkShape(fn: string, shape: readonly number[]): void {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      `${fn}: shape: expected an array of non-negative integers, got ${show(shape)}`,
    )
  }
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${fn}: shape[${i}]: expected a non-negative integer, got ${show(d)} in ${show(shape)}`,
      )
    }
  }
}

/**
 * Wraps `data` (taken as is, not copied) in a tensor of `shape`.
 *
 * @example
 * ```ts
 * import { fromData, toArray } from 'gradstream'
 *
 * const data = new Float64Array([1, 2, 3, 4])
 * const t = fromData([2, 2], data)
 * console.log(toArray(t), t.data === data) // → [ [ 1, 2 ], [ 3, 4 ] ] true
 * try {
 *   fromData([2, 2], new Float64Array(3))
 * } catch (e) {
 *   console.log(String(e)) // → ShapeError: fromData: shape [2,2] holds 4 values, got 3
 * }
 * ```
 * @throws {ShapeError} `fromData: shape [2,2] holds 4 values, got 3`
 */
export function fromData(shape: readonly number[], data: Float64Array): Tensor {
  checkShape('fromData', shape)
  if (!(data instanceof Float64Array)) {
    throw new TypeError(`fromData: data: expected a Float64Array, got ${show(data)}`)
  }
  const n = sizeOf(shape)
  if (n !== data.length) {
    throw new ShapeError(
      `fromData: shape ${showShape(shape)} holds ${n} values, got ${data.length}`,
    )
  }
  return { shape: [...shape], data }
}

/**
 * Builds a tensor from a number (rank 0) or a nested array of numbers, checking that it is
 * rectangular.
 *
 * @example
 * ```ts
 * import { tensor } from 'gradstream'
 *
 * const W = tensor([
 *   [0.47, 0.99, 0.84],
 *   [0.85, 0.03, 0.69],
 * ])
 * console.log(W.shape, W.data)
 * // → [ 2, 3 ] Float64Array(6) [ 0.47, 0.99, 0.84, 0.85, 0.03, 0.69 ]
 * console.log(tensor(3).shape) // → []
 * ```
 * @throws {ShapeError} `tensor: ragged nested array: at [1] expected length 3, got 2`
 * @throws {TypeError} `tensor: at [0,1]: expected a number, got "a"`
 */
export function tensor(values: NestedArray): Tensor {
  const shape: number[] = []
  let probe: NestedArray = values
  while (Array.isArray(probe)) {
    shape.push(probe.length)
    probe = probe.length > 0 ? (probe[0] as NestedArray) : 0
  }
  const data = new Float64Array(sizeOf(shape))
  let k = 0
  const walk = (v: NestedArray, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number') {
        throw new TypeError(`tensor: at ${show(path)}: expected a number, got ${show(v)}`)
      }
      data[k++] = v
      return
    }
    if (!Array.isArray(v)) {
      throw new ShapeError(
        `tensor: ragged nested array: at ${show(path)} expected an array of length ${shape[depth]}, got ${show(v)}`,
      )
    }
    if (v.length !== shape[depth]) {
      throw new ShapeError(
        `tensor: ragged nested array: at ${show(path)} expected length ${shape[depth]}, got ${v.length}`,
      )
    }
    for (let i = 0; i < v.length; i++) walk(v[i] as NestedArray, depth + 1, [...path, i])
  }
  walk(values, 0, [])
  return { shape, data }
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * import { full, toArray } from 'gradstream'
 *
 * console.log(toArray(full([2], 7))) // → [ 7, 7 ]
 * ```
 */
export function full(shape: readonly number[], value: number): Tensor {
  if (typeof value !== 'number') {
    throw new TypeError(`full: value: expected a number, got ${show(value)}`)
  }
  const data = allocate('full', shape).fill(value)
  return { shape: [...shape], data }
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { toArray, zeros } from 'gradstream'
 *
 * console.log(toArray(zeros([2, 3]))) // → [ [ 0, 0, 0 ], [ 0, 0, 0 ] ]
 * ```
 */
export function zeros(shape: readonly number[]): Tensor {
  const data = allocate('zeros', shape)
  return { shape: [...shape], data }
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import { ones, toArray } from 'gradstream'
 *
 * console.log(toArray(ones([3]))) // → [ 1, 1, 1 ]
 * ```
 */
export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1)
}

/**
 * Zeros of `t`'s shape.
 *
 * @example
 * ```ts
 * import { tensor, toArray, zerosLike } from 'gradstream'
 *
 * console.log(toArray(zerosLike(tensor([1, 2])))) // → [ 0, 0 ]
 * ```
 */
export function zerosLike(t: Tensor): Tensor {
  expectTensor('zerosLike', 't', t)
  return zeros(t.shape)
}

/**
 * Ones of `t`'s shape.
 *
 * @example
 * ```ts
 * import { onesLike, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(onesLike(tensor([1, 2])))) // → [ 1, 1 ]
 * ```
 */
export function onesLike(t: Tensor): Tensor {
  expectTensor('onesLike', 't', t)
  return ones(t.shape)
}

/**
 * `value` in `t`'s shape.
 *
 * @example
 * ```ts
 * import { fullLike, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(fullLike(tensor([1, 2]), 5))) // → [ 5, 5 ]
 * ```
 */
export function fullLike(t: Tensor, value: number): Tensor {
  expectTensor('fullLike', 't', t)
  return full(t.shape, value)
}

/**
 * A copy of `t` with its own buffer.
 *
 * @example
 * ```ts
 * import { clone, tensor, toArray } from 'gradstream'
 *
 * const t = tensor([1, 2])
 * const c = clone(t)
 * console.log(toArray(c), c.data !== t.data) // → [ 1, 2 ] true
 * ```
 */
export function clone(t: Tensor): Tensor {
  expectTensor('clone', 't', t)
  return { shape: [...t.shape], data: t.data.slice() }
}

/**
 * Converts back to nested arrays (a number for rank 0).
 *
 * @example
 * ```ts
 * import { tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(tensor([[1, 2], [3, 4]]))) // → [ [ 1, 2 ], [ 3, 4 ] ]
 * console.log(toArray(tensor(5))) // → 5
 * ```
 */
export function toArray(t: Tensor): NestedArray {
  expectTensor('toArray', 't', t)
  if (t.shape.length === 0) return t.data[0]
  let k = 0
  const build = (depth: number): NestedArray => {
    const n = t.shape[depth]
    const out: NestedArray[] = new Array(n)
    if (depth === t.shape.length - 1) for (let i = 0; i < n; i++) out[i] = t.data[k++]
    else for (let i = 0; i < n; i++) out[i] = build(depth + 1)
    return out
  }
  return build(0)
}

/**
 * The same values in another shape with the same number of elements; one dimension may be -1.
 * The result shares `t`'s `data` (no copy).
 *
 * @example
 * ```ts
 * import { reshape, tensor, toArray } from 'gradstream'
 *
 * const t = reshape(tensor([1, 2, 3, 4]), [2, -1])
 * console.log(t.shape, toArray(t)) // → [ 2, 2 ] [ [ 1, 2 ], [ 3, 4 ] ]
 * try {
 *   reshape(tensor([1, 2, 3, 4]), [3, -1])
 * } catch (e) {
 *   console.log(String(e)) // → ShapeError: reshape: cannot reshape [4] into [3,-1]
 * }
 * ```
 * @throws {ShapeError} `reshape: cannot reshape [4] into [3,-1]`
 */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  expectTensor('reshape', 't', t)
  if (!Array.isArray(shape)) {
    throw new TypeError(`reshape: shape: expected an array of numbers, got ${show(shape)}`)
  }
  const n = t.data.length
  const free = shape.indexOf(-1)
  const known = shape.reduce((p, d, i) => (i === free ? p : p * d), 1)
  const out = free >= 0 ? shape.map((d, i) => (i === free ? n / known : d)) : [...shape]
  if (out.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(out) !== n) {
    throw new ShapeError(`reshape: cannot reshape ${showShape(t.shape)} into ${showShape(shape)}`)
  }
  return { shape: out, data: t.data }
}

/**
 * The single value of a rank-0 or one-element tensor.
 *
 * @example
 * ```ts
 * import { item, tensor } from 'gradstream'
 *
 * console.log(item(tensor(3)), item(tensor([[4]]))) // → 3 4
 * ```
 * @throws {ShapeError} `item: expected a tensor with one element, got shape [2]`
 */
export function item(t: Tensor): number {
  expectTensor('item', 't', t)
  if (t.data.length !== 1) {
    throw new ShapeError(
      `item: expected a tensor with one element, got shape ${showShape(t.shape)}`,
    )
  }
  return t.data[0]
}
