import { describe, expect, it } from 'vitest'
import {
  clone,
  fromData,
  full,
  fullLike,
  isTensor,
  item,
  ones,
  onesLike,
  reshape,
  ShapeError,
  sizeOf,
  tensor,
  toArray,
  zeros,
  zerosLike,
} from 'gradstream'

describe('tensor creation', () => {
  it('builds any rank from nested arrays, row-major, and converts back', () => {
    const nested = [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]
    const t = tensor(nested)
    expect(t.shape).toEqual([2, 2, 2])
    expect([...t.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(toArray(t)).toEqual(nested)
    expect(tensor(3).shape).toEqual([])
    expect(toArray(tensor(3))).toBe(3)
    expect(toArray(tensor([]))).toEqual([])
    expect(toArray(zeros([2, 0]))).toEqual([[], []])
  })

  it('rejects ragged arrays and non-numbers, naming where', () => {
    expect(() => tensor([[1, 2], 3] as never)).toThrow(
      new ShapeError('tensor: ragged nested array: at [1] expected an array of length 2, got 3'),
    )
    expect(() => tensor([[[1], [2, 3]]])).toThrow(
      new ShapeError('tensor: ragged nested array: at [0,1] expected length 1, got 2'),
    )
    expect(() => tensor([1, 'a'] as never)).toThrow(
      new TypeError('tensor: at [1]: expected a number, got "a"'),
    )
  })

  it('zeros, ones, full and the *Like forms', () => {
    expect(toArray(zeros([2, 2]))).toEqual([
      [0, 0],
      [0, 0],
    ])
    expect(toArray(ones([3]))).toEqual([1, 1, 1])
    expect(toArray(full([2], 7))).toEqual([7, 7])
    const t = tensor([[1, 2, 3]])
    expect(zerosLike(t).shape).toEqual([1, 3])
    expect(toArray(onesLike(t))).toEqual([[1, 1, 1]])
    expect(toArray(fullLike(t, 5))).toEqual([[5, 5, 5]])
    expect(() => zeros([2, -1])).toThrow(
      new RangeError('zeros: shape[1]: expected a non-negative integer, got -1 in [2,-1]'),
    )
    expect(() => full([1.5], 0)).toThrow(
      new RangeError('full: shape[0]: expected a non-negative integer, got 1.5 in [1.5]'),
    )
  })

  it('fromData wraps a buffer of the right size', () => {
    const data = new Float64Array([1, 2, 3, 4])
    const t = fromData([2, 2], data)
    expect(t.data).toBe(data)
    expect(() => fromData([2, 2], new Float64Array(3))).toThrow(
      new ShapeError('fromData: shape [2,2] holds 4 values, got 3'),
    )
    expect(() => fromData([2], [1, 2] as never)).toThrow(
      new TypeError('fromData: data: expected a Float64Array, got [1,2]'),
    )
  })

  it('clone owns its buffer; reshape keeps the values; item reads one value', () => {
    const t = tensor([1, 2, 3, 4])
    const c = clone(t)
    c.data[0] = 9
    expect(t.data[0]).toBe(1)
    expect(toArray(reshape(t, [2, -1]))).toEqual([
      [1, 2],
      [3, 4],
    ])
    expect(() => reshape(t, [3, -1])).toThrow(
      new ShapeError('reshape: cannot reshape [4] into [3,-1]'),
    )
    expect(item(tensor([[5]]))).toBe(5)
    expect(() => item(t)).toThrow(
      new ShapeError('item: expected a tensor with one element, got shape [4]'),
    )
    expect(isTensor(t)).toBe(true)
    expect(isTensor({ shape: [1], data: [1] })).toBe(false)
    expect(sizeOf([2, 3, 4])).toBe(24)
    expect(sizeOf([])).toBe(1)
  })
})
