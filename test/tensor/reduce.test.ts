import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { argmax, max, mean, pairwiseSum, ShapeError, sum, tensor, toArray } from 'gradstream'

describe('reductions', () => {
  const m = tensor([
    [1, 5, 2],
    [7, 2, 7],
  ])

  it('sum, mean, max, argmax over all elements and along an axis', () => {
    expect(sum(m)).toBe(24)
    expect(toArray(sum(m, 0))).toEqual([8, 7, 9])
    expect(toArray(sum(m, 1))).toEqual([8, 16])
    expect(toArray(sum(m, -1))).toEqual([8, 16])
    expect(mean(m)).toBe(4)
    expect(toArray(mean(m, 0))).toEqual([4, 3.5, 4.5])
    expect(max(m)).toBe(7)
    expect(toArray(max(m, 1))).toEqual([5, 7])
    // first index on ties, as NumPy
    expect(argmax(m)).toBe(3)
    expect(toArray(argmax(m, 1))).toEqual([1, 0])
    expect(toArray(argmax(m, 0))).toEqual([1, 0, 1])
  })

  it('sums in NumPy pairwise order, bit for bit', () => {
    // python3 -c "import numpy as np; print(repr(np.sum(np.array([1.0] + [1e-16]*199))))"
    // → 1.0000000000000189 (a plain left-to-right loop gives 1.0: each 1e-16 is lost)
    const data = [1, ...Array<number>(199).fill(1e-16)]
    expect(sum(tensor(data))).toBe(1.0000000000000189)
    expect(sum(tensor([data, data]), 1).data[1]).toBe(1.0000000000000189)
    let plain = 0
    for (const v of data) plain += v
    expect(plain).toBe(1)
  })

  it('pairwiseSum equals the exact sum for integers (no rounding), for any length', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 600 }), (xs) => {
        expect(pairwiseSum(xs, 0, xs.length)).toBe(xs.reduce((s, v) => s + v, 0))
      }),
    )
  })

  it('follows NumPy on NaN: max propagates it, argmax points at the first', () => {
    const t = tensor([1, NaN, 3, NaN])
    expect(max(t)).toBeNaN()
    expect(argmax(t)).toBe(1)
    expect(toArray(argmax(tensor([[1, NaN, 3]]), 1))).toEqual([1])
  })

  it('rejects bad axes and empty argmax', () => {
    expect(() => sum(m, 2)).toThrow(
      new RangeError('sum: axis: expected an integer in [-2, 1] for shape [2,3], got 2'),
    )
    expect(() => argmax(tensor([]))).toThrow(
      new ShapeError('argmax: expected a non-empty tensor, got shape [0]'),
    )
  })
})
