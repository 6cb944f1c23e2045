import { expectFinite } from '../errors.js'
import { checkFunction, checkValue, diffOptions } from './diffInternals.js'
import type { DiffOptions } from './diffOptions.js'

/**
 * The derivative of a function of one variable by a finite difference — the book's
 * `numerical_diff`. Central by default, with exactly the book's arithmetic
 * `(f(x + h) − f(x − h)) / (2 * h)`, so the printed numbers come out bit for bit.
 *
 * Error: central O(h²·|f‴|/6) from truncation plus about ε·|f|/h from rounding (ε ≈ 1.1e-16),
 * which is why h = 1e-4 (not 1e-50, where x + h === x and the result is 0) is the usual step;
 * forward / backward O(h·|f″|/2).
 *
 * @example
 * ```ts
 * import { numericalDiff } from 'gradstream'
 *
 * console.log(numericalDiff((x) => 0.01 * x ** 2 + 0.1 * x, 5)) // → 0.1999999999990898
 * console.log(numericalDiff(Math.exp, 0, { method: 'forward' })) // → 1.000050001667141
 * ```
 * @param f a function of one number returning a number (finite, unless `nonFinite: 'propagate'`)
 * @param x the point: a finite number
 * @param opts `h` (positive, finite; default 1e-4), `method` (default `'central'`), `nonFinite`
 *   (`'throw'`, default, or `'propagate'`: IEEE results such as Infinity or NaN)
 * @throws {RangeError} `numericalDiff: x: expected a finite number, got Infinity`
 * @throws {RangeError} `numericalDiff: h: expected a positive finite number, got 0`
 * @throws {RangeError} `numericalDiff: f returned NaN at x - h` (also Infinity, -Infinity)
 * @see numericalGradient, derivative (error-controlled, near machine precision)
 */
export function numericalDiff(f: (x: number) => number, x: number, opts?: DiffOptions): number {
  const fn = 'numericalDiff'
  checkFunction(fn, f)
  expectFinite(fn, 'x', x)
  const { h, method, nonFinite } = diffOptions(fn, opts)
  const at = (where: string, v: number) => checkValue(fn, f(v), () => where, nonFinite)
  switch (method) {
    case 'central':
      return (at('x + h', x + h) - at('x - h', x - h)) / (2 * h)
    case 'forward':
      return (at('x + h', x + h) - at('x', x)) / h
    case 'backward':
      return (at('x', x) - at('x - h', x - h)) / h
  }
}
