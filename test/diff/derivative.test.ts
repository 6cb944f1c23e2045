import { describe, expect, it } from 'vitest'
import { derivative, numericalDiff } from 'gradstream'

/**
 * The cases scipy.differentiate.derivative (SciPy 1.18) is measured on in the issue: it reaches
 * relative errors ~1e-14 to 3e-13 and returns NaN for ln at 0.5 (its first step leaves x > 0).
 * Exact derivatives are written anew here from calculus.
 */
const cases: [string, (x: number) => number, number, number][] = [
  ['eˣ at 1', Math.exp, 1, Math.exp(1)],
  ['sin at 2', Math.sin, 2, Math.cos(2)],
  ['ln at 0.5', Math.log, 0.5, 1 / 0.5],
  ['x³ at 1000', (x) => x * x * x, 1000, 3 * 1000 ** 2],
  ['atan at 10', Math.atan, 10, 1 / (1 + 10 ** 2)],
  ['e^(−x²) at 0.3', (x) => Math.exp(-x * x), 0.3, -2 * 0.3 * Math.exp(-0.09)],
]

describe('derivative', () => {
  it.each(cases)(
    '%s: relative error ≤ 1e-12, error estimate bounds the true error',
    (_, f, x, exact) => {
      const { value, error, evaluations } = derivative(f, x)
      const trueError = Math.abs(value - exact)
      expect(trueError / Math.abs(exact)).toBeLessThanOrEqual(1e-12)
      // the reference itself is rounded: allow one ulp of slack for it
      expect(error + Number.EPSILON * Math.abs(exact)).toBeGreaterThanOrEqual(trueError)
      // and the estimate is informative, not a blanket bound
      expect(error / Math.abs(exact)).toBeLessThan(1e-10)
      expect(evaluations).toBeGreaterThan(0)
      expect(evaluations).toBeLessThanOrEqual(24)
    },
  )

  it('is far more accurate than the fixed-step central difference', () => {
    const fixed = Math.abs(numericalDiff(Math.atan, 10) - 1 / 101) * 101
    const ridders = Math.abs(derivative(Math.atan, 10).value - 1 / 101) * 101
    expect(fixed).toBeGreaterThan(1e-10)
    expect(ridders).toBeLessThan(fixed / 100)
  })

  it('counts every evaluation', () => {
    let calls = 0
    const r = derivative((x) => (calls++, Math.sin(x)), 1)
    expect(r.evaluations).toBe(calls)
  })

  it('shrinks the first step until f is finite: ln near 0, sqrt at 1e-3', () => {
    const r = derivative(Math.log, 0.01)
    expect(Math.abs(r.value - 100) / 100).toBeLessThan(1e-10)
    const s = derivative(Math.sqrt, 1e-3)
    const exact = 0.5 / Math.sqrt(1e-3)
    expect(Math.abs(s.value - exact) / exact).toBeLessThan(1e-9)
  })

  it('rejects bad input', () => {
    expect(() => derivative(Math.sin, NaN)).toThrow(
      new RangeError('derivative: x: expected a finite number, got NaN'),
    )
    expect(() => derivative(Math.sin, 1, { h: 0 })).toThrow(
      new RangeError('derivative: h: expected a positive finite number, got 0'),
    )
    expect(() => derivative(Math.sin, 1, { factor: 1 })).toThrow(
      new RangeError('derivative: factor: expected a number > 1, got 1'),
    )
    expect(() => derivative(() => NaN, 0)).toThrow(
      new RangeError(
        'derivative: f returned NaN at x + h for every h down to 1.1945774316841202e-300 (x = 0)',
      ),
    )
    expect(() => derivative(() => 'a' as never, 0)).toThrow(
      new TypeError('derivative: f returned "a" at 0.1; expected a number'),
    )
  })
})
