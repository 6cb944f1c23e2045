import { describe, expect, it } from 'vitest'
import { matmul, sum, tensor, toArray, transpose, zipWith } from 'gradstream'

describe('tensor', () => {
  it('round-trips nested arrays', () => {
    const nested = [
      [1, 2, 3],
      [4, 5, 6],
    ]
    const t = tensor(nested)
    expect(t.shape).toEqual([2, 3])
    expect(toArray(t)).toEqual(nested)
  })

  it('rejects ragged arrays naming where', () => {
    expect(() =>
      tensor([
        [1, 2, 3],
        [4, 5],
      ]),
    ).toThrow('tensor: ragged nested array: at [1] expected length 3, got 2')
  })

  it('matmul follows np.dot for a vector times a matrix', () => {
    const y = matmul(
      tensor([0.6, 0.9]),
      tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    )
    expect(y.shape).toEqual([3])
    expect([...y.data]).toEqual([0.6 * 1 + 0.9 * 4, 0.6 * 2 + 0.9 * 5, 0.6 * 3 + 0.9 * 6])
  })

  it('matmul names both shapes when they do not align', () => {
    expect(() =>
      matmul(
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        tensor([[1], [2], [3], [4]]),
      ),
    ).toThrow('matmul: shapes [2,3] and [4,1] do not align')
  })

  it('broadcasts a bias row over a batch', () => {
    const y = zipWith(
      tensor([
        [1, 2],
        [3, 4],
      ]),
      tensor([10, 20]),
      (a, b) => a + b,
    )
    expect(toArray(y)).toEqual([
      [11, 22],
      [13, 24],
    ])
  })

  it('sums along an axis and transposes', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ])
    expect(toArray(sum(t, 0))).toEqual([4, 6])
    expect(toArray(transpose(t))).toEqual([
      [1, 3],
      [2, 4],
    ])
  })
})
