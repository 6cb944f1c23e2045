import { ShapeError, show, showShape } from '../errors.js'
import { expectTensor, type Tensor } from './tensor.js'

function resolveAxis(op: string, t: Tensor, axis: number): number {
  const r = t.shape.length
  const a = Number.isInteger(axis) && axis < 0 ? axis + r : axis
  if (!Number.isInteger(axis) || a < 0 || a >= r) {
    throw new RangeError(
      `${op}: axis: expected an integer in [${-r}, ${r - 1}] for shape ${showShape(t.shape)}, got ${show(axis)}`,
    )
  }
  return a
}

/**
 * Folds `t` along `axis` with `step(acc, value)` starting from `init`, returning the tensor
 * with that axis removed. The work horse of sum / max / argmax.
 */
function reduceAxis(
  op: string,
  t: Tensor,
  axis: number,
  init: number,
  step: (acc: number, v: number, i: number) => number,
): Tensor {
  const a = resolveAxis(op, t, axis)
  const outer = t.shape.slice(0, a).reduce((p, d) => p * d, 1)
  const len = t.shape[a]
  const inner = t.shape.slice(a + 1).reduce((p, d) => p * d, 1)
  const out = new Float64Array(outer * inner)
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = init
      for (let i = 0; i < len; i++) acc = step(acc, t.data[(o * len + i) * inner + j], i)
      out[o * inner + j] = acc
    }
  }
  return { shape: [...t.shape.slice(0, a), ...t.shape.slice(a + 1)], data: out }
}

/**
 * The sum of all elements (a number), or along `axis` (a tensor without that axis).
 *
 * @example
 * ```ts
 * import { sum, tensor, toArray } from 'gradstream'
 *
 * const t = tensor([
 *   [1, 2],
 *   [3, 4],
 * ])
 * console.log(sum(t)) // → 10
 * console.log(toArray(sum(t, 1))) // → [ 3, 7 ]
 * console.log(toArray(sum(t, 0))) // → [ 4, 6 ]
 * ```
 */
export function sum(t: Tensor): number
export function sum(t: Tensor, axis: number): Tensor
export function sum(t: Tensor, axis?: number): number | Tensor {
  expectTensor('sum', 't', t)
  if (axis === undefined) return pairwiseSum(t.data, 0, t.data.length)
  const a = resolveAxis('sum', t, axis)
  if (a === t.shape.length - 1) {
    // along the contiguous last axis NumPy sums each row pairwise too
    const len = t.shape[a]
    const rows = len === 0 ? sizeOfShape(t.shape.slice(0, a)) : t.data.length / len
    const out = new Float64Array(rows)
    for (let r = 0; r < rows; r++) out[r] = pairwiseSum(t.data, r * len, len)
    return { shape: t.shape.slice(0, a), data: out }
  }
  return reduceAxis('sum', t, axis, 0, (acc, v) => acc + v)
}

const sizeOfShape = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1)

/**
 * The sum of `data[start .. start+n)` in NumPy's order (`pairwise_sum` in
 * numpy/_core/src/umath/loops_utils.h.src): below 8 values a plain loop; up to 128 eight
 * interleaved partial sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) then the rest;
 * beyond, split in two halves (rounded down to a multiple of 8) and recurse. Matching the order
 * makes sums bit-identical to `np.sum` on contiguous data, and the error grows like log n
 * instead of n.
 *
 * @example
 * ```ts
 * import { pairwiseSum } from 'gradstream'
 *
 * const xs = [1, ...Array(199).fill(1e-16)]
 * console.log(pairwiseSum(xs, 0, xs.length)) // → 1.0000000000000189
 * // as np.sum; a plain loop gives 1 (each 1e-16 is lost against the 1)
 * ```
 */
export function pairwiseSum(data: ArrayLike<number>, start: number, n: number): number {
  // checked once a call (the recursion below is not): a range outside `data` would sum
  // undefined (NaN), and a huge n would recurse for ever
  if (typeof data !== 'object' || data === null || typeof data.length !== 'number') {
    throw new TypeError(`pairwiseSum: data: expected an array of numbers, got ${show(data)}`)
  }
  if (!Number.isInteger(start) || start < 0 || start > data.length) {
    throw new RangeError(
      `pairwiseSum: start: expected an integer in [0, ${data.length}], got ${show(start)}`,
    )
  }
  if (!Number.isInteger(n) || n < 0 || start + n > data.length) {
    throw new RangeError(
      `pairwiseSum: n: expected an integer in [0, ${data.length - start}], got ${show(n)}`,
    )
  }
  return sumRange(data, start, n)
}

function sumRange(data: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0
    for (let i = 0; i < n; i++) res += data[start + i]
    return res
  }
  if (n <= 128) {
    let r0 = data[start]
    let r1 = data[start + 1]
    let r2 = data[start + 2]
    let r3 = data[start + 3]
    let r4 = data[start + 4]
    let r5 = data[start + 5]
    let r6 = data[start + 6]
    let r7 = data[start + 7]
    const end = n - (n % 8)
    let i = 8
    for (; i < end; i += 8) {
      const k = start + i
      r0 += data[k]
      r1 += data[k + 1]
      r2 += data[k + 2]
      r3 += data[k + 3]
      r4 += data[k + 4]
      r5 += data[k + 5]
      r6 += data[k + 6]
      r7 += data[k + 7]
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7))
    for (; i < n; i++) res += data[start + i]
    return res
  }
  let n2 = Math.floor(n / 2)
  n2 -= n2 % 8
  return sumRange(data, start, n2) + sumRange(data, start + n2, n - n2)
}

/**
 * The mean of all elements, or along `axis`.
 *
 * @example
 * ```ts
 * import { mean, tensor, toArray } from 'gradstream'
 *
 * console.log(mean(tensor([1, 2, 3, 4]))) // → 2.5
 * const t = tensor([
 *   [1, 2],
 *   [3, 4],
 * ])
 * console.log(toArray(mean(t, 0))) // → [ 2, 3 ]
 * ```
 */
export function mean(t: Tensor): number
export function mean(t: Tensor, axis: number): Tensor
export function mean(t: Tensor, axis?: number): number | Tensor {
  expectTensor('mean', 't', t)
  if (axis === undefined) return sum(t) / t.data.length
  const s = sum(t, axis)
  const n = t.shape[resolveAxis('mean', t, axis)]
  return { shape: s.shape, data: s.data.map((v) => v / n) }
}

/**
 * The largest element, or the largest along `axis`. NaN propagates, as in NumPy.
 *
 * @example
 * ```ts
 * import { max, tensor, toArray } from 'gradstream'
 *
 * const t = tensor([
 *   [1, 5],
 *   [7, 2],
 * ])
 * console.log(max(t)) // → 7
 * console.log(toArray(max(t, 1))) // → [ 5, 7 ]
 * console.log(max(tensor([1, NaN, 3]))) // → NaN
 * ```
 */
export function max(t: Tensor): number
export function max(t: Tensor, axis: number): Tensor
export function max(t: Tensor, axis?: number): number | Tensor {
  expectTensor('max', 't', t)
  const pick = (acc: number, v: number) => (v > acc || Number.isNaN(v) ? v : acc)
  if (axis === undefined) {
    let m = -Infinity
    for (let i = 0; i < t.data.length; i++) m = Number.isNaN(m) ? m : pick(m, t.data[i])
    return m
  }
  return reduceAxis('max', t, axis, -Infinity, (acc, v) => (Number.isNaN(acc) ? acc : pick(acc, v)))
}

/**
 * The index of the largest element (first on ties, as NumPy; the first NaN counts as the
 * largest, as NumPy), flat or along `axis`.
 *
 * @example
 * ```ts
 * import { argmax, tensor, toArray } from 'gradstream'
 *
 * const y = tensor([
 *   [0.1, 0.8, 0.1],
 *   [0.3, 0.2, 0.5],
 * ])
 * console.log(toArray(argmax(y, 1))) // → [ 1, 2 ]
 * console.log(argmax(tensor([3, 9, 9]))) // → 1
 * // flat index; ties go to the first, as np.argmax
 * ```
 * @throws {ShapeError} `argmax: expected a non-empty tensor, got shape [0]`
 */
export function argmax(t: Tensor): number
export function argmax(t: Tensor, axis: number): Tensor
export function argmax(t: Tensor, axis?: number): number | Tensor {
  expectTensor('argmax', 't', t)
  if (axis === undefined) {
    if (t.data.length === 0) {
      throw new ShapeError(`argmax: expected a non-empty tensor, got shape ${showShape(t.shape)}`)
    }
    let best = 0
    for (let i = 1; i < t.data.length && !Number.isNaN(t.data[best]); i++)
      if (t.data[i] > t.data[best] || Number.isNaN(t.data[i])) best = i
    return best
  }
  const a = resolveAxis('argmax', t, axis)
  if (t.shape[a] === 0) {
    throw new ShapeError(
      `argmax: expected a non-empty axis ${axis}, got shape ${showShape(t.shape)}`,
    )
  }
  const outer = t.shape.slice(0, a).reduce((p, d) => p * d, 1)
  const len = t.shape[a]
  const inner = t.shape.slice(a + 1).reduce((p, d) => p * d, 1)
  const out = new Float64Array(outer * inner)
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = 0
      let bv = t.data[o * len * inner + j]
      for (let i = 1; i < len && !Number.isNaN(bv); i++) {
        const v = t.data[(o * len + i) * inner + j]
        if (v > bv || Number.isNaN(v)) ((best = i), (bv = v))
      }
      out[o * inner + j] = best
    }
  }
  return { shape: [...t.shape.slice(0, a), ...t.shape.slice(a + 1)], data: out }
}
