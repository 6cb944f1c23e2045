import { show } from '../errors.js'
import { type Params, type TreePath, visit } from '../tree/tree.js'
import {
  checkFunction,
  coordinateName,
  diffOptions,
  gradientInto,
  makeScratch,
} from './diffInternals.js'
import type { DiffOptions } from './diffOptions.js'

/**
 * ∂f/∂p_i: the derivative of `f` along one coordinate of `p` with the others held fixed, by
 * the same finite difference as `numericalGradient` (central, h = 1e-4 by default). The
 * coordinate is a flat index in flattening order, or its name as messages print it (`'W[1,2]'`,
 * `'b'`, `'p[0]'` for a bare array).
 *
 * @example
 * ```ts
 * import { partialDerivative, sum, tensor, type Tensor } from 'gradstream'
 *
 * // the book's ∂f/∂x0 of x0² + x1² at (3, 4)
 * console.log(partialDerivative((x: number[]) => x[0] ** 2 + x[1] ** 2, [3, 4], 0))
 * // → 6.00000000000378
 * console.log(
 *   partialDerivative(({ W }: { W: Tensor }) => sum(W), { W: tensor([[1, 2]]) }, 'W[0,1]'),
 * )
 * // → 0.9999999999998899
 * ```
 * @param coordinate a flat index in [0, size) or a coordinate name
 * @param opts `h`, `method` and `nonFinite` as `numericalGradient`'s
 * @throws {RangeError} `partialDerivative: coordinate: expected an integer in [0, 1], got 2`
 * @throws {RangeError} `partialDerivative: coordinate: expected one of p[0], p[1], got "x"`
 * @throws {RangeError} `partialDerivative: f returned Infinity at p[0] + h` (also NaN, -Infinity)
 * @see numericalGradient, directionalDerivative
 */
export function partialDerivative<P extends Params>(
  f: (p: P) => number,
  p: P,
  coordinate: number | TreePath,
  opts?: DiffOptions,
): number {
  const fn = 'partialDerivative'
  checkFunction(fn, f)
  const { h, method, nonFinite } = diffOptions(fn, opts)
  const scratch = makeScratch(fn, 'p', p)
  let i = -1
  if (typeof coordinate === 'number') {
    if (!Number.isInteger(coordinate) || coordinate < 0 || coordinate >= scratch.size) {
      throw new RangeError(
        `${fn}: coordinate: expected an integer in [0, ${scratch.size - 1}], got ${show(coordinate)}`,
      )
    }
    i = coordinate
  } else {
    const names: string[] = []
    visit(p, (_, path, k) => {
      const name = coordinateName(path)
      names.push(name)
      if (name === coordinate) i = k
    })
    if (i < 0) {
      const list = names.length > 6 ? `${names.slice(0, 6).join(', ')}, …` : names.join(', ')
      throw new RangeError(`${fn}: coordinate: expected one of ${list}, got ${show(coordinate)}`)
    }
  }
  const out = new Float64Array(scratch.size)
  gradientInto(fn, f, p, scratch, h, method, out, [i], nonFinite)
  return out[i]
}
