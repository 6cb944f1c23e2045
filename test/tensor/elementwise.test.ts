import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { add, div, exp, log, map, mul, neg, ShapeError, sub, tensor, toArray } from 'gradstream'

describe('elementwise', () => {
  const a = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ])

  it('combines equal shapes and numbers', () => {
    expect(toArray(add(a, a))).toEqual([
      [2, 4, 6],
      [8, 10, 12],
    ])
    expect(toArray(sub(a, 1))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ])
    expect(toArray(mul(2, a))).toEqual([
      [2, 4, 6],
      [8, 10, 12],
    ])
    expect(toArray(div(a, 2))).toEqual([
      [0.5, 1, 1.5],
      [2, 2.5, 3],
    ])
    expect(toArray(neg(tensor([1, -2])))).toEqual([-1, 2])
    expect(toArray(exp(tensor([0])))).toEqual([1])
    expect(toArray(log(tensor([1])))).toEqual([0])
    expect(toArray(map(tensor([1, 2]), (v, i) => v * 10 + i))).toEqual([10, 21])
  })

  it('broadcasts a bias row over a batch, either side', () => {
    const b = tensor([10, 20, 30])
    expect(toArray(add(a, b))).toEqual([
      [11, 22, 33],
      [14, 25, 36],
    ])
    expect(toArray(sub(b, a))).toEqual([
      [9, 18, 27],
      [6, 15, 24],
    ])
  })

  it("follows NumPy's general rule ([2,1] with [1,3], [3,1,2] with [4,1])", () => {
    expect(toArray(add(tensor([[1], [2]]), tensor([[10, 20, 30]])))).toEqual([
      [11, 21, 31],
      [12, 22, 32],
    ])
    const x = tensor([[[1, 2]], [[3, 4]], [[5, 6]]]) // [3,1,2]
    const y = tensor([[10], [20], [30], [40]]) // [4,1]
    const z = mul(x, y)
    expect(z.shape).toEqual([3, 4, 2])
    // z[i][j][k] = x[i][0][k] · y[j][0], written out anew
    const expected = [0, 1, 2].map((i) =>
      [0, 1, 2, 3].map((j) => [0, 1].map((k) => (2 * i + k + 1) * 10 * (j + 1))),
    )
    expect(toArray(z)).toEqual(expected)
  })

  it('names the operation and both shapes when they do not broadcast', () => {
    expect(() => add(a, tensor([1, 2]))).toThrow(
      new ShapeError('add: shapes [2,3] and [2] do not broadcast'),
    )
    expect(() => mul(tensor([[1, 2]]), tensor([[1, 2, 3]]))).toThrow(
      new ShapeError('mul: shapes [1,2] and [1,3] do not broadcast'),
    )
  })

  it('never writes into its operands', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 6 }), (xs) => {
        const t = tensor(xs)
        const before = [...t.data]
        add(t, t)
        mul(t, 2)
        neg(t)
        map(t, (v) => v)
        expect([...t.data]).toEqual(before)
      }),
    )
  })
})
