import type { Params } from '../tree/tree.js'
import { checkFunction, diffOptions, makeScratch } from './diffInternals.js'
import type { DiffOptions } from './diffOptions.js'
import { gradientInto } from './diffInternals.js'
import { unflatten } from '../tree/tree.js'
import { flatCentralGradient } from './flatGradient.js'

/**
 * The gradient of a scalar function of a parameter tree by finite differences, one coordinate
 * at a time — the book's `numerical_gradient` with `np.nditer`: for each coordinate i,
 * `tmp = x[i]; x[i] = tmp + h; f; x[i] = tmp - h; f; x[i] = tmp`, and
 * `grad[i] = (f(x+h) − f(x−h)) / (2 * h)`, the same arithmetic, so the book's numbers come out
 * bit for bit.
 *
 * Unlike the book it never writes into `p`: `f` is evaluated on a private scratch copy in which
 * exactly one coordinate is moved at a time (`f` must not keep a reference to its argument past
 * the call: the scratch is reused). The result has `p`'s structure: tensors of the same shapes,
 * numbers, arrays and records with the same keys. Costs 2n evaluations (central) or n + 1
 * (forward / backward) for n scalars.
 *
 * @example
 * ```ts
 * import { numericalGradient, sum, tensor, type Tensor } from 'gradstream'
 *
 * console.log(numericalGradient((x: number[]) => x[0] ** 2 + x[1] ** 2, [3, 4]))
 * // → [ 6.00000000000378, 7.999999999999119 ]
 * const g = numericalGradient(({ W, b }: { W: Tensor; b: number }) => sum(W) * b, {
 *   W: tensor([1, 2]),
 *   b: 3,
 * })
 * console.log(g.W.data, g.b)
 * // → Float64Array(2) [ 2.9999999999930083, 3.00000000000189 ] 3.000000000010772
 * ```
 * @param f a function of a tree shaped like `p`, returning a number (finite, unless `nonFinite`
 *   is `'propagate'`)
 * @param p the point: a parameter tree of finite numbers
 * @param opts `h` (positive, finite; default 1e-4), `method` (default `'central'`) and `nonFinite`
 *   (`'throw'`, default, or `'propagate'`: IEEE results, e.g. Infinity − Infinity = NaN)
 * @throws {RangeError} `numericalGradient: p.W[1,2]: expected a finite number, got NaN`
 * @throws {RangeError} `numericalGradient: f returned NaN at W[1,2] + h` (also Infinity, -Infinity)
 * @throws {TypeError} `numericalGradient: f returned "a" at p[0] - h; expected a number`
 * @see numericalDiff, partialDerivative, directionalDerivative, jacobian
 */
export function numericalGradient<P extends Params>(
  f: (p: P) => number,
  p: P,
  opts?: DiffOptions,
): P {
  const fn = 'numericalGradient'
  checkFunction(fn, f)
  const { h, method, nonFinite } = diffOptions(fn, opts)
  if (method === 'central') {
    // a single tensor or a flat array of numbers (W1's case): same loop, no tree walks
    const fast = flatCentralGradient(fn, f, p, h, nonFinite)
    if (fast !== null) return fast
  }
  const scratch = makeScratch(fn, 'p', p)
  const grad = new Float64Array(scratch.size)
  gradientInto(fn, f, p, scratch, h, method, grad, undefined, nonFinite)
  return unflatten(p, grad)
}
