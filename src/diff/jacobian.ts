import { ShapeError, show } from '../errors.js'
import type { Tensor } from '../tensor/tensor.js'
import { assertParams, flatten, type Params, pathAt } from '../tree/tree.js'
import {
  checkFunction,
  coordinateAt,
  diffOptions,
  makeScratch,
  nonFiniteValue,
} from './diffInternals.js'
import type { DiffOptions } from './diffOptions.js'

/** Output coordinate `i` of f's value `y`: `3` for a flat array or vector, else its path. */
function outputName(y: Params, i: number): string {
  const path = pathAt(y, i)
  return path === '(root)' ? '0' : /^\[\d+\]$/.test(path) ? String(i) : path
}

/**
 * The Jacobian of a tree-valued function by finite differences: a `[m, n]` tensor whose entry
 * (j, i) is ∂F_j/∂p_i, with outputs (m of them) and inputs (n) both in flattening order. Column
 * i is `(F(p + h·e_i) − F(p − h·e_i)) / (2 * h)`, as `numericalGradient` does for one output.
 *
 * @example
 * ```ts
 * import { jacobian } from 'gradstream'
 *
 * // F(x, y) = (x·y, x + y) at (2, 3): rows are outputs, columns inputs
 * const J = jacobian((p: number[]) => [p[0] * p[1], p[0] + p[1]], [2, 3])
 * console.log(J.shape, Array.from(J.data, (v) => +v.toFixed(9))) // → [ 2, 2 ] [ 3, 2, 1, 1 ]
 * ```
 * @param f returns a parameter tree (a number, a tensor, arrays / records of them) of the same
 *   size at every point, all finite (unless `nonFinite: 'propagate'`)
 * @param opts `h`, `method` and `nonFinite` as `numericalGradient`'s
 * @throws {ShapeError} `jacobian: f returned 3 values at p[1] + h, but 2 at p[0] + h`
 * @throws {RangeError} `jacobian: f returned NaN in output 1 at p[0] - h` (also Infinity, -Infinity;
 *   the output named by its path when f returns a tree: `in output W[0,1]`)
 * @see numericalGradient
 */
export function jacobian<P extends Params>(f: (p: P) => Params, p: P, opts?: DiffOptions): Tensor {
  const fn = 'jacobian'
  checkFunction(fn, f)
  const { h, method, nonFinite } = diffOptions(fn, opts)
  const scratch = makeScratch(fn, 'p', p)
  const n = scratch.size
  let m = -1
  let firstWhere = ''
  const evalAt = (i: number, side: string): Float64Array => {
    const where = () => (i < 0 ? 'p' : `${coordinateAt(p, i)} ${side}`)
    const y = f(scratch.tree)
    try {
      assertParams(fn, 'f(p)', y)
    } catch {
      throw new TypeError(`${fn}: f returned ${show(y)} at ${where()}; expected a parameter tree`)
    }
    const flat = flatten(y)
    if (m < 0) {
      m = flat.length
      firstWhere = where()
    } else if (flat.length !== m) {
      throw new ShapeError(
        `${fn}: f returned ${flat.length} values at ${where()}, but ${m} at ${firstWhere}`,
      )
    }
    if (nonFinite === 'throw') {
      const bad = flat.findIndex((v) => v - v !== 0)
      if (bad >= 0) nonFiniteValue(fn, flat[bad], where(), ` in output ${outputName(y, bad)}`)
    }
    return flat
  }
  const { values } = scratch
  const columns: Float64Array[] = new Array(n)
  const f0 = method === 'central' && n > 0 ? null : evalAt(-1, '')
  for (let i = 0; i < n; i++) {
    const tmp = values[i]
    if (method === 'central') {
      scratch.set(i, tmp + h)
      const y1 = evalAt(i, '+ h')
      scratch.set(i, tmp - h)
      const y2 = evalAt(i, '- h')
      scratch.set(i, tmp)
      columns[i] = y1.map((a, j) => (a - y2[j]) / (2 * h))
    } else {
      const sign = method === 'forward' ? 1 : -1
      scratch.set(i, tmp + sign * h)
      const y = evalAt(i, sign > 0 ? '+ h' : '- h')
      scratch.set(i, tmp)
      columns[i] = sign > 0 ? y.map((a, j) => (a - f0![j]) / h) : y.map((a, j) => (f0![j] - a) / h)
    }
  }
  const data = new Float64Array(m * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) data[j * n + i] = columns[i][j]
  return { shape: [m, n], data }
}
