import { describe, expect, it } from 'vitest'
import { flatten, numericalGradient, sum, tensor, toArray, type Tensor } from 'gradstream'

// the book's function_2 (§4.4): x0² + x1²
const f2 = (x: readonly number[]) => x[0] ** 2 + x[1] ** 2

describe('numericalGradient', () => {
  it('reproduces the book at (3, 4) and (0, 2)', () => {
    // the book's numerical_gradient (np.nditer loop), printed with .tolist()
    expect(numericalGradient(f2, [3, 4])).toEqual([6.00000000000378, 7.999999999999119])
    expect(numericalGradient(f2, [0, 2])).toEqual([0, 4.000000000004])
  })

  it('gives the same numbers on a tensor', () => {
    const g = numericalGradient((x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2, tensor([3, 4]))
    expect(g.shape).toEqual([2])
    expect([...g.data]).toEqual([6.00000000000378, 7.999999999999119])
  })

  it('returns the exact structure of a mixed tree', () => {
    const p = { W: tensor([[1, 2, 3]]), b: 5, layers: [2, { c: tensor([1]) }] as const }
    const f = (q: typeof p) =>
      sum(q.W) * q.b + (q.layers[0] as number) ** 2 + (q.layers[1] as { c: Tensor }).c.data[0]
    const g = numericalGradient(f, p)
    expect(Object.keys(g).sort()).toEqual(['W', 'b', 'layers'])
    expect(g.W.shape).toEqual([1, 3])
    // ∂/∂W = b = 5, ∂/∂b = ΣW = 6, ∂/∂layers[0] = 2·2 = 4, ∂/∂c = 1; central differences are
    // exact on these quadratics up to rounding ~ε·|f|/h ≈ 1e-16·40/1e-4 = 4e-11
    const expected = [5, 5, 5, 6, 4, 1]
    flatten(g).forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-10))
  })

  it('differentiates a bare number', () => {
    const h = 1e-4
    expect(numericalGradient((x: number) => x * x, 3)).toBe(
      ((3 + h) * (3 + h) - (3 - h) * (3 - h)) / (2 * h),
    )
  })

  it('never mutates its input and hands f one moved coordinate at a time', () => {
    const p = {
      W: tensor([
        [1, 2],
        [3, 4],
      ]),
      b: [1, 2],
    }
    const before = JSON.stringify({ W: toArray(p.W), b: p.b })
    const base = [1, 2, 3, 4, 1, 2]
    const seen: number[][] = []
    numericalGradient((q: typeof p) => {
      expect(q).not.toBe(p)
      expect(q.W.data).not.toBe(p.W.data)
      // the user's tree is untouched during the call
      expect(JSON.stringify({ W: toArray(p.W), b: p.b })).toBe(before)
      const now = [...q.W.data, ...q.b]
      seen.push(now)
      return now.reduce((s, v) => s + v, 0)
    }, p)
    expect(JSON.stringify({ W: toArray(p.W), b: p.b })).toBe(before)
    expect(seen).toHaveLength(12)
    seen.forEach((v, k) => {
      const moved = v.map((x, i) => (x !== base[i] ? i : -1)).filter((i) => i >= 0)
      expect(moved).toEqual([Math.floor(k / 2)])
    })
  })

  it('works on a frozen tree (as the training loop holds its parameters)', () => {
    const p = Object.freeze({ W: tensor([[1, 2]]), b: Object.freeze([3]) })
    const g = numericalGradient((q: typeof p) => q.W.data[0] * q.b[0], p)
    // d/dW00 = b = 3, d/db = W00 = 1; exact on this bilinear f up to rounding ε·3/1e-4 ≈ 7e-12
    expect(Math.abs(g.W.data[0] - 3)).toBeLessThan(1e-11)
    expect(Math.abs(g.b[0] - 1)).toBeLessThan(1e-11)
  })

  it('forward differences evaluate f(p) once, then once per coordinate', () => {
    let calls = 0
    const g = numericalGradient((x: readonly number[]) => (calls++, f2(x)), [3, 4], {
      method: 'forward',
    })
    expect(calls).toBe(3)
    expect(g[0]).toBe(((3 + 1e-4) ** 2 + 16 - 25) / 1e-4)
  })

  it('names the coordinate being probed when f returns NaN', () => {
    const p = {
      W: tensor([
        [0, 0, 0],
        [0, 0, 0.5],
      ]),
    }
    const f = (q: typeof p) => (q.W.data[5] > 0.5 ? NaN : 0)
    expect(() => numericalGradient(f, p)).toThrow(
      new RangeError('numericalGradient: f returned NaN at W[1,2] + h'),
    )
    // and the failed call changed nothing
    expect([...p.W.data]).toEqual([0, 0, 0, 0, 0, 0.5])
    expect(() => numericalGradient((x: readonly number[]) => (x[1] < 2 ? NaN : 0), [1, 2])).toThrow(
      new RangeError('numericalGradient: f returned NaN at p[1] - h'),
    )
  })

  it('names the coordinate when f returns a non-number', () => {
    expect(() => numericalGradient(() => 'a' as never, { b: 1 })).toThrow(
      new TypeError('numericalGradient: f returned "a" at b + h; expected a number'),
    )
  })

  it('rejects non-finite parameters, naming them, and bad options', () => {
    expect(() => numericalGradient(f2, [1, NaN])).toThrow(
      new RangeError('numericalGradient: p[1]: expected a finite number, got NaN'),
    )
    expect(() => numericalGradient(() => 0, { W: tensor([[1, Infinity]]) })).toThrow(
      new RangeError('numericalGradient: p.W[0,1]: expected a finite number, got Infinity'),
    )
    expect(() => numericalGradient(f2, [1, 2], { h: 0 })).toThrow(
      new RangeError('numericalGradient: h: expected a positive finite number, got 0'),
    )
    expect(() => numericalGradient(f2, { W: 'x' } as never)).toThrow(
      new TypeError(
        'numericalGradient: p.W: expected a number, a tensor, an array or a record, got "x"',
      ),
    )
  })
})
