import { describe, expect, it } from 'vitest'
import { numericalDiff } from 'gradstream'

// the book's function_1 (§4.3.2)
const f1 = (x: number) => 0.01 * x ** 2 + 0.1 * x

describe('numericalDiff', () => {
  it('reproduces the book: 0.01x² + 0.1x at 5 and 10', () => {
    // printed by the book's numerical_diff (and by `python3 -c` with the same code)
    expect(numericalDiff(f1, 5)).toBe(0.1999999999990898)
    expect(numericalDiff(f1, 10)).toBe(0.2999999999986347)
  })

  it('is the book arithmetic (f(x+h) − f(x−h)) / (2*h) for any h', () => {
    const h = 1e-3
    expect(numericalDiff(Math.sin, 1, { h })).toBe((Math.sin(1 + h) - Math.sin(1 - h)) / (2 * h))
  })

  it('forward and backward differences are one-sided', () => {
    const h = 1e-4
    expect(numericalDiff(Math.exp, 0, { method: 'forward' })).toBe((Math.exp(h) - 1) / h)
    expect(numericalDiff(Math.exp, 0, { method: 'backward' })).toBe((1 - Math.exp(-h)) / h)
  })

  it('h = 1e-50 rounds x + h to x, so the difference is 0 (why the book uses 1e-4)', () => {
    expect(numericalDiff(f1, 5, { h: 1e-50 })).toBe(0)
  })

  it('rejects a non-finite x', () => {
    expect(() => numericalDiff(f1, Infinity)).toThrow(
      new RangeError('numericalDiff: x: expected a finite number, got Infinity'),
    )
    expect(() => numericalDiff(f1, NaN)).toThrow(
      new RangeError('numericalDiff: x: expected a finite number, got NaN'),
    )
  })

  it('rejects h ≤ 0 and non-finite h', () => {
    for (const h of [0, -1e-4, NaN, Infinity]) {
      expect(() => numericalDiff(f1, 1, { h })).toThrow(
        new RangeError(`numericalDiff: h: expected a positive finite number, got ${h}`),
      )
    }
  })

  it('rejects an unknown method and a non-function', () => {
    expect(() => numericalDiff(f1, 1, { method: 'left' as never })).toThrow(
      new RangeError(
        'numericalDiff: method: expected "central", "forward" or "backward", got "left"',
      ),
    )
    expect(() => numericalDiff(3 as never, 1)).toThrow(
      new TypeError('numericalDiff: f: expected a function, got 3'),
    )
  })

  it('names the probe where f returned NaN or a non-number', () => {
    expect(() => numericalDiff((x) => (x < 1 ? NaN : x), 1)).toThrow(
      new RangeError('numericalDiff: f returned NaN at x - h'),
    )
    expect(() => numericalDiff(() => 'a' as never, 1)).toThrow(
      new TypeError('numericalDiff: f returned "a" at x + h; expected a number'),
    )
    expect(() => numericalDiff((x) => (x === 1 ? NaN : x), 1, { method: 'forward' })).toThrow(
      new RangeError('numericalDiff: f returned NaN at x'),
    )
  })
})
