import { expectFunction, ShapeError, showShape } from '../errors.js'
import { checkShape, expectTensor, sizeOf, type Tensor } from './tensor.js'

/** A tensor or a plain number, which broadcasts to any shape. */
export type Operand = Tensor | number

/**
 * Applies `f` to every element, into a new tensor.
 *
 * @example
 * ```ts
 * import { map, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(map(tensor([1, 2]), (v) => v * v))) // → [ 1, 4 ]
 * ```
 */
export function map(t: Tensor, f: (v: number, i: number) => number, op = 'map'): Tensor {
  if (typeof op !== 'string' || op === '') op = 'map'
  expectTensor(op, 't', t)
  expectFunction(op, 'f', f)
  const src = t.data
  const out = new Float64Array(src.length)
  for (let i = 0; i < src.length; i++) out[i] = f(src[i], i)
  return { shape: [...t.shape], data: out }
}

/**
 * The shape both operands broadcast to (NumPy's rule: align right, 1 stretches); `op` names the
 * operation in the error.
 *
 * @example
 * ```ts
 * import { broadcastShape } from 'gradstream'
 *
 * console.log(broadcastShape('add', [2, 1, 3], [4, 1])) // → [ 2, 4, 3 ]
 * try {
 *   broadcastShape('add', [2, 3], [2])
 * } catch (e) {
 *   console.log(String(e)) // → ShapeError: add: shapes [2,3] and [2] do not broadcast
 * }
 * ```
 * @throws {ShapeError} `add: shapes [2,3] and [2] do not broadcast`
 */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const name = typeof op === 'string' && op !== '' ? op : 'broadcastShape'
  checkShape(name, a)
  checkShape(name, b)
  const n = Math.max(a.length, b.length)
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1
    const db = b[b.length - n + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${name}: shapes ${showShape(a)} and ${showShape(b)} do not broadcast`)
    }
    out[i] = da === 1 ? db : da
  }
  return out
}

const isSuffix = (short: readonly number[], long: readonly number[]): boolean =>
  short.length <= long.length && short.every((d, i) => d === long[long.length - short.length + i])

/** Strides of `shape` as seen from `out` (0 where a dimension is broadcast). */
function stridesIn(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = out.length - shape.length + i
    strides[j] = shape[i] === 1 ? 0 : s
    s *= shape[i]
  }
  return strides
}

/**
 * Combines two operands elementwise with broadcasting: equal shapes, a number, a trailing
 * suffix such as a bias row `[n]` against a batch `[m, n]`, or NumPy's general rule.
 *
 * @example
 * ```ts
 * import { tensor, toArray, zipWith } from 'gradstream'
 *
 * const x = tensor([
 *   [1, 2],
 *   [3, 4],
 * ])
 * const y = zipWith(x, tensor([10, 20]), (a, b) => a * a + b) // the row [10, 20] broadcast
 * console.log(toArray(y)) // → [ [ 11, 24 ], [ 19, 36 ] ]
 * ```
 * @throws {ShapeError} `add: shapes [2,3] and [2] do not broadcast`
 */
export function zipWith(
  a: Operand,
  b: Operand,
  f: (x: number, y: number) => number,
  op = 'zipWith',
): Tensor {
  if (typeof op !== 'string' || op === '') op = 'zipWith'
  if (typeof a !== 'number') expectTensor(op, 'a', a, 'a tensor or a number')
  if (typeof b !== 'number') expectTensor(op, 'b', b, 'a tensor or a number')
  expectFunction(op, 'f', f)
  if (typeof a === 'number' && typeof b === 'number')
    return { shape: [], data: Float64Array.of(f(a, b)) }
  if (typeof b === 'number') {
    const x = (a as Tensor).data
    const out = new Float64Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = f(x[i], b)
    return { shape: [...(a as Tensor).shape], data: out }
  }
  if (typeof a === 'number') {
    const y = b.data
    const out = new Float64Array(y.length)
    for (let i = 0; i < y.length; i++) out[i] = f(a, y[i])
    return { shape: [...b.shape], data: out }
  }
  const x = a.data
  const y = b.data
  if (isSuffix(b.shape, a.shape)) {
    const out = new Float64Array(x.length)
    const m = y.length
    if (m === x.length) for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i])
    else if (m > 0) for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i % m])
    return { shape: [...a.shape], data: out }
  }
  if (isSuffix(a.shape, b.shape)) {
    const out = new Float64Array(y.length)
    const m = x.length
    if (m > 0) for (let i = 0; i < y.length; i++) out[i] = f(x[i % m], y[i])
    return { shape: [...b.shape], data: out }
  }
  const shape = broadcastShape(op, a.shape, b.shape)
  const n = sizeOf(shape)
  const sa = stridesIn(a.shape, shape)
  const sb = stridesIn(b.shape, shape)
  const out = new Float64Array(n)
  const idx = new Array<number>(shape.length).fill(0)
  let ia = 0
  let ib = 0
  for (let k = 0; k < n; k++) {
    out[k] = f(x[ia], y[ib])
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++
      ia += sa[d]
      ib += sb[d]
      if (idx[d] < shape[d]) break
      ia -= sa[d] * shape[d]
      ib -= sb[d] * shape[d]
      idx[d] = 0
    }
  }
  return { shape, data: out }
}

/**
 * `a + b` with broadcasting (see `zipWith`): a number, a bias row `[n]` against a batch `[m, n]`,
 * or NumPy's general rule.
 *
 * @example
 * ```ts
 * import { add, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(add(tensor([1, 2]), 1))) // → [ 2, 3 ]
 * const batch = tensor([
 *   [1, 2],
 *   [3, 4],
 * ])
 * console.log(toArray(add(batch, tensor([10, 20])))) // → [ [ 11, 22 ], [ 13, 24 ] ]
 * ```
 */
export const add = (a: Operand, b: Operand): Tensor => zipWith(a, b, (x, y) => x + y, 'add')
/**
 * `a − b` with broadcasting.
 *
 * @example
 * ```ts
 * import { sub, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(sub(tensor([1, 2]), 1))) // → [ 0, 1 ]
 * console.log(toArray(sub(1, tensor([1, 2])))) // → [ 0, -1 ]
 * ```
 */
export const sub = (a: Operand, b: Operand): Tensor => zipWith(a, b, (x, y) => x - y, 'sub')
/**
 * `a · b` elementwise with broadcasting.
 *
 * @example
 * ```ts
 * import { mul, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(mul(tensor([1, 2]), 3))) // → [ 3, 6 ]
 * console.log(toArray(mul(tensor([1, 2]), tensor([3, 4])))) // → [ 3, 8 ]
 * ```
 */
export const mul = (a: Operand, b: Operand): Tensor => zipWith(a, b, (x, y) => x * y, 'mul')
/**
 * `a / b` elementwise with broadcasting.
 *
 * @example
 * ```ts
 * import { div, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(div(tensor([1, 2]), 2))) // → [ 0.5, 1 ]
 * ```
 */
export const div = (a: Operand, b: Operand): Tensor => zipWith(a, b, (x, y) => x / y, 'div')
/**
 * `−t`.
 *
 * @example
 * ```ts
 * import { neg, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(neg(tensor([1, -2])))) // → [ -1, 2 ]
 * ```
 */
export const neg = (t: Tensor): Tensor => map(t, (v) => -v, 'neg')
/**
 * `eᵗ` elementwise.
 *
 * @example
 * ```ts
 * import { exp, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(exp(tensor([0, 1])))) // → [ 1, 2.718281828459045 ]
 * ```
 */
export const exp = (t: Tensor): Tensor => map(t, Math.exp, 'exp')
/**
 * `ln t` elementwise (0 gives −∞, a negative NaN, as `Math.log`).
 *
 * @example
 * ```ts
 * import { log, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(log(tensor([1, Math.E, 0])))) // → [ 0, 1, -Infinity ]
 * ```
 */
export const log = (t: Tensor): Tensor => map(t, Math.log, 'log')
