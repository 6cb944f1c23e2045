import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { derivative } from 'gradstream'

/**
 * Smooth families with their derivatives written out by hand, including ones with complex
 * singularities near the real axis (1/(1+a·x²), log1p(x²), atan(a·x)), where extrapolation
 * converges more slowly, and sin(a·x) near its zeros, where f's own rounding is large
 * relative to f.
 */
const families: Record<string, (a: number) => [(x: number) => number, (x: number) => number]> = {
  'sin(ax)': (a) => [(x) => Math.sin(a * x), (x) => a * Math.cos(a * x)],
  'exp(ax)': (a) => [(x) => Math.exp(a * x), (x) => a * Math.exp(a * x)],
  '1/(1+|a|x²)': (a) => [
    (x) => 1 / (1 + Math.abs(a) * x * x),
    (x) => (-2 * Math.abs(a) * x) / (1 + Math.abs(a) * x * x) ** 2,
  ],
  'log1p(x²)': () => [(x) => Math.log1p(x * x), (x) => (2 * x) / (1 + x * x)],
  'x⁵ − 3x': () => [(x) => x ** 5 - 3 * x, (x) => 5 * x ** 4 - 3],
  'atan(ax)': (a) => [(x) => Math.atan(a * x), (x) => a / (1 + a * a * x * x)],
}

describe('derivative (Richardson)', () => {
  it('is accurate to ~1e-10 and its error estimate bounds the true error', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(families)),
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        (name, a, x) => {
          const [f, df] = families[name](a)
          const exact = df(x)
          const { value, error } = derivative(f, x)
          const trueError = Math.abs(value - exact)
          // the reference df(x) is itself rounded: a few ε·|f′| of slack for it
          expect(trueError).toBeLessThanOrEqual(error + 4 * Number.EPSILON * Math.abs(exact))
          expect(trueError).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(exact)))
        },
      ),
    )
  })
})
