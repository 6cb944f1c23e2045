import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { numericalGradient, tensor, type Tensor } from 'gradstream'

// A bare tensor or a bare array of numbers takes numericalGradient's flat path (no scratch tree);
// wrapped in a record the same point takes the general path. Both must give the same bits, call
// f on the same points in the same order, and throw the same messages.

// a nonlinear f that weighs every coordinate differently, so a swapped or missed probe shows
const g = (v: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < v.length; i++) s += Math.sin(v[i]) * (i + 1) + v[i] * v[i] * v[i]
  return s
}
const value = fc.double({ min: -100, max: 100, noNaN: true })
const shape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })
const h = fc.constantFrom(undefined, 1e-4, 1e-2, 0.5)

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) expect(Object.is(a[i], b[i])).toBe(true)
}

describe('numericalGradient on a bare tensor or number array', () => {
  it('gives the general path bit for bit, probing the same points', () => {
    const tensors = shape.chain((s) =>
      fc
        .array(value, {
          minLength: s.reduce((a, d) => a * d, 1),
          maxLength: s.reduce((a, d) => a * d, 1),
        })
        .map((d): Tensor => ({ shape: s, data: Float64Array.from(d) })),
    )
    fc.assert(
      fc.property(tensors, h, (t, step) => {
        const opts = step === undefined ? undefined : { h: step }
        const seenFlat: number[][] = []
        const seenTree: number[][] = []
        const before = [...t.data]
        const flat = numericalGradient(
          (x: Tensor) => (seenFlat.push([...x.data]), g(x.data)),
          t,
          opts,
        )
        const tree = numericalGradient(
          (q: { W: Tensor }) => (seenTree.push([...q.W.data]), g(q.W.data)),
          { W: t },
          opts,
        )
        expect(flat.shape).toEqual(t.shape)
        expect(flat.shape).not.toBe(t.shape)
        expect(flat.data).not.toBe(t.data)
        same(flat.data, tree.W.data)
        expect(seenFlat).toEqual(seenTree)
        same(t.data, before)
      }),
    )
  })

  it('gives the general path bit for bit on an array of numbers', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 12 }), h, (a, step) => {
        const opts = step === undefined ? undefined : { h: step }
        const before = [...a]
        const flat = numericalGradient((x: readonly number[]) => g(x), a, opts)
        const tree = numericalGradient((q: { a: number[] }) => g(q.a), { a }, opts)
        expect(Array.isArray(flat)).toBe(true)
        same(flat, tree.a)
        expect(a).toEqual(before)
      }),
    )
  })

  it('reports bad values of f exactly as the general path names them', () => {
    const t = tensor([
      [0, 0],
      [0, 1],
    ])
    expect(() => numericalGradient((x: Tensor) => (x.data[3] > 1 ? NaN : 0), t)).toThrow(
      new RangeError('numericalGradient: f returned NaN at p[1,1] + h'),
    )
    expect(() => numericalGradient((x: Tensor) => (x.data[2] < 0 ? 'a' : 0) as number, t)).toThrow(
      new TypeError('numericalGradient: f returned "a" at p[1,0] - h; expected a number'),
    )
    expect([...t.data]).toEqual([0, 0, 0, 1])
    // non-finite points, holes and non-numbers fall through to the general path's checks
    expect(() => numericalGradient(() => 0, tensor([1, -Infinity]))).toThrow(
      new RangeError('numericalGradient: p[1]: expected a finite number, got -Infinity'),
    )
    expect(() => numericalGradient(() => 0, [1, 'x'] as never)).toThrow(TypeError)
  })
})
