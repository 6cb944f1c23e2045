import type * as t from 'io-ts'
import { expectFinite, show } from '../errors.js'
import { DerivativeOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { checkFunction } from './diffInternals.js'
import type { NonFinite } from './diffOptions.js'

/** Options of `derivative` (codec `DerivativeOptionsC`). */
export type DerivativeOptions = t.TypeOf<typeof DerivativeOptionsC>

/** What `derivative` returns. */
export interface DerivativeResult {
  /** The extrapolated derivative f′(x). */
  readonly value: number
  /**
   * A bound on |value − f′(x)|: how far the accepted tableau entry moved from the two it was
   * extrapolated from (truncation), plus a bound on its rounding error, propagated from f's
   * values on the assumption that f is computed backward-stably (to about one ulp, at an
   * argument within one ulp). A function that loses more accuracy itself (log(1 + x²) near 0,
   * where log1p(x²) would not) can have a larger true error.
   */
  readonly error: number
  /** How many times f was called. */
  readonly evaluations: number
}

const EPS = 2 ** -52
/** Stop after this many step sizes in a row that did not improve the best estimate. */
const PATIENCE = 3

/**
 * f′(x) to near machine precision, with an error estimate: Ridders' method (Numerical Recipes
 * `dfridr`). Central differences D(h) = (f(x+h) − f(x−h)) / 2h at steps h, h/c, h/c², … form a
 * Neville tableau of polynomial extrapolations to h → 0 (D(h) = f′ + a₁h² + a₂h⁴ + …, so each
 * column removes one more power of h²). New step sizes stop once the error estimate has not
 * shrunk for 3 of them, or once rounding alone exceeds the best error so far; the entry with the
 * smallest estimated error wins.
 *
 * A fixed step cannot do this: h = 1e-4 leaves a truncation error ~h²|f‴|/6 ≈ 1e-9 relative,
 * and no single h gets both truncation and rounding (~ε|f|/h) below 1e-12.
 *
 * @example
 * ```ts
 * import { derivative } from 'gradstream'
 *
 * const { value, error, evaluations } = derivative(Math.exp, 1)
 * console.log(value, error.toExponential(1), evaluations) // → 2.718281828459052 3.2e-13 16
 * // (true relative error 3e-15; `error` is a bound)
 * console.log(derivative(Math.log, 0.5).value.toFixed(12)) // → 2.000000000000
 * // ≈ 2: the first step stays inside x > 0
 * ```
 * @param f a smooth function of one number
 * @param x a finite number
 * @throws {RangeError} `derivative: x: expected a finite number, got NaN`
 * @param opts `h`, `factor`, `maxSteps`, `nonFinite` (see `DerivativeOptions`)
 * @throws {RangeError} `derivative: f returned NaN at x + h for every h down to 1.1945774316841202e-300 (x = 0)`
 *   (also Infinity, -Infinity: f not finite at any step)
 * @see numericalDiff (the book's fixed-step central difference)
 */
export function derivative(
  f: (x: number) => number,
  x: number,
  opts: DerivativeOptions = {},
): DerivativeResult {
  const fn = 'derivative'
  checkFunction(fn, f)
  expectFinite(fn, 'x', x)
  decodeOptions(DerivativeOptionsC, opts, fn, 'opts')
  const c = opts.factor ?? 1.4
  const steps = opts.maxSteps ?? 12
  let h = opts.h ?? 0.1 * Math.max(Math.abs(x), 1)

  let evaluations = 0
  const call = (v: number): number => {
    evaluations++
    const y = f(v)
    if (typeof y !== 'number') {
      throw new TypeError(`${fn}: f returned ${show(y)} at ${show(v)}; expected a number`)
    }
    return y
  }
  /**
   * D(h) and a bound on its rounding noise. f(v) is taken to be what a backward-stable
   * evaluation gives: exact for an argument off by ε·|v|, then rounded, i.e. off by at most
   * ε·(|f(v)| + |v|·|f′(v)|) (the second term matters near zeros of f, as in sin(a·x)), with
   * D itself standing in for f′. The difference divides that by 2h; the division adds ε·|D|.
   * h is first rounded so that x + h − x is exactly h (no representation error in the step).
   */
  // the probe of the latest step where f was not finite, for the message if no step is
  let bad: { side: string; value: number } | null = null
  const central = (step: number): [number, number] => {
    const s = x + step - x
    const a = call(x + s)
    const b = call(x - s)
    bad =
      a - a !== 0 ? { side: 'x + h', value: a } : b - b !== 0 ? { side: 'x - h', value: b } : null
    const d = (a - b) / (2 * s)
    const noise =
      EPS * (Math.abs(a) + Math.abs(b) + 2 * (Math.abs(x) + s) * Math.abs(d)) + 2 * Number.MIN_VALUE // values that underflow are off by up to one subnormal step
    return [d, noise / (2 * s) + EPS * Math.abs(d)]
  }

  // The first column: shrink the step until f is finite on both sides (stay in the domain),
  // then halve it once more so the probes keep clear of the domain's edge, where f is usually
  // singular (√x at x − h = 0). Shrinking by 8 (not 10) avoids landing exactly on an edge at
  // a power of ten.
  let [d0, n0] = central(h)
  if (!Number.isFinite(d0)) {
    while (!Number.isFinite(d0)) {
      if (h / 8 < 1e-300 || x + h / 8 === x) {
        if (opts.nonFinite === 'propagate') return { value: d0, error: Infinity, evaluations }
        const b = bad as { side: string; value: number } | null
        throw new RangeError(
          b === null
            ? `${fn}: (f(x + h) − f(x − h)) / 2h is ${show(d0)} for every h down to ${show(h)} (x = ${show(x)})`
            : `${fn}: f returned ${show(b.value)} at ${b.side} for every h down to ${show(h)} (x = ${show(x)})`,
        )
      }
      h /= 8
      ;[d0, n0] = central(h)
    }
    h /= 2
    ;[d0, n0] = central(h)
  }

  // Tableau rows: row[j] is the j-th extrapolation using this row's step and the j before it;
  // noise[j] bounds its rounding error (the extrapolation weights fac/(fac−1) and 1/(fac−1)
  // amplify the noise of the two entries it combines).
  const c2 = c * c
  let prev = [d0]
  let prevNoise = [n0]
  let value = d0
  let error = Infinity
  let stale = 0 // columns in a row that did not improve the best estimate
  for (let i = 1; i < steps; i++) {
    h /= c
    const [di, ni] = central(h)
    if (!Number.isFinite(di)) break
    const row = [di]
    const noise = [ni]
    let fac = c2
    let improved = false
    for (let j = 1; j <= i; j++) {
      row[j] = (row[j - 1] * fac - prev[j - 1]) / (fac - 1)
      noise[j] = (fac * noise[j - 1] + prevNoise[j - 1]) / (fac - 1) + EPS * Math.abs(row[j])
      fac *= c2
      // truncation: how far the entry moved from the two it was built from; plus rounding
      const errt =
        Math.max(Math.abs(row[j] - row[j - 1]), Math.abs(row[j] - prev[j - 1])) + noise[j]
      if (errt <= error) {
        improved = improved || errt < error
        error = errt
        value = row[j]
      }
    }
    prev = row
    prevNoise = noise
    stale = improved ? 0 : stale + 1
    // Stop once the error estimate has stopped shrinking, or once rounding alone (the smallest
    // noise bound in the new row) is as large as the best error: no later entry can beat it.
    // (Numerical Recipes' test, stop when the diagonal drifts by 2× the error, is not used:
    // two early entries can agree by accident and end the search far from converged.)
    if (stale >= PATIENCE || Math.min(...noise) >= error) break
  }
  return { value, error, evaluations }
}
