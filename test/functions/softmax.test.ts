import { describe, expect, it } from 'vitest'
import { softmax, sum, tensor, toArray } from 'gradstream'
import { expectAllClose } from '../helpers/expectClose.js'

// exp differs between V8 (fdlibm, < 1 ulp) and glibc (< 0.51 ulp); the sum and the quotient add
// two more roundings: 4 units of ε relative cover the difference to NumPy
const rtol = 4 * Number.EPSILON

describe('softmax', () => {
  it('matches the book for [0.3, 2.9, 4.0]', () => {
    // python3: softmax(np.array([0.3, 2.9, 4.0])).tolist() with the book's softmax
    expectAllClose(
      softmax(tensor([0.3, 2.9, 4.0])).data,
      [0.01821127329554753, 0.24519181293507392, 0.7365969137693786],
      { rtol },
    )
  })

  it('does not overflow on [1010, 1000, 990] and sums to 1', () => {
    const y = softmax([1010, 1000, 990])
    expect(y.data.every(Number.isFinite)).toBe(true)
    // three roundings of values ≤ 1 in the sum
    expect(Math.abs(sum(y) - 1)).toBeLessThanOrEqual(3 * Number.EPSILON)
    // python3: softmax(np.array([1010., 1000., 990.])).tolist()
    expectAllClose(y.data, [0.999954600070331, 4.539786860886666e-5, 2.061060046209062e-9], {
      rtol,
    })
  })

  it('works row by row on a batch, along the last axis', () => {
    const rows = [
      [1, 2, 3],
      [-5, 0, 5],
    ]
    const y = softmax(tensor(rows))
    expect(y.shape).toEqual([2, 3])
    expect(toArray(y)).toEqual(rows.map((r) => toArray(softmax(r))))
  })

  it('is invariant to adding a constant to a row', () => {
    expect(toArray(softmax([1, 2, 3]))).toEqual(toArray(softmax([101, 102, 103])))
  })

  it('rejects a rank-0 tensor and ragged arrays', () => {
    expect(() => softmax(tensor(1))).toThrow('softmax: x: expected rank ≥ 1, got shape []')
    expect(() => softmax([[1, 2], [3]])).toThrow(
      'softmax: x: ragged nested array: at [1] expected length 2, got 1',
    )
  })
})
