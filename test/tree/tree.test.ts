import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assertParams,
  flatten,
  globalNorm,
  mapTree,
  pathAt,
  ShapeError,
  tensor,
  toArray,
  treeSize,
  unflatten,
  visit,
  zerosLikeTree,
  zipTree,
  zeros,
  type Params,
} from 'gradstream'

const p = {
  W: tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]),
  b: tensor([7, 8, 9]),
  extra: [10, { s: 11 }],
}

describe('parameter trees', () => {
  it('size and flatten: records by sorted key, arrays by index, tensors row-major', () => {
    expect(treeSize(p)).toBe(11)
    // sorted keys: W, b, extra
    expect([...flatten(p)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    expect([...flatten({ b: 3, W: tensor([1, 2]) })]).toEqual([1, 2, 3])
    expect(treeSize(5)).toBe(1)
  })

  it('unflatten inverts flatten, with copies or shared views', () => {
    const flat = flatten(p).map((v) => v * 10)
    const q = unflatten(p, flat)
    expect(toArray(q.W)).toEqual([
      [10, 20, 30],
      [40, 50, 60],
    ])
    expect(q.extra).toEqual([100, { s: 110 }])
    expect(q.W.data.buffer).not.toBe(flat.buffer)
    const shared = unflatten(p, flat, true)
    expect(shared.W.data.buffer).toBe(flat.buffer)
    expect(() => unflatten(p, new Float64Array(3))).toThrow(
      new ShapeError('unflatten: template holds 11 values, got 3'),
    )
  })

  it('mapTree and zipTree keep the structure', () => {
    const doubled = mapTree(p, (v) => 2 * v)
    expect([...flatten(doubled)]).toEqual([...flatten(p)].map((v) => 2 * v))
    expect(doubled.W.shape).toEqual([2, 3])
    const sum = zipTree(p, doubled, (a, b) => a + b)
    expect([...flatten(sum)]).toEqual([...flatten(p)].map((v) => 3 * v))
    expect([...flatten(zerosLikeTree(p))]).toEqual(Array(11).fill(0))
  })

  it('zerosLikeTree: +0 in fresh arrays of the same shapes, and its own name in errors', () => {
    const z = zerosLikeTree(p)
    expect(z.W.shape).toEqual([2, 3])
    expect(z.W.shape).not.toBe(p.W.shape)
    expect(z.W.data).not.toBe(p.W.data)
    expect([...flatten(z)].every((v) => Object.is(v, 0))).toBe(true)
    expect([...p.W.data]).toEqual([1, 2, 3, 4, 5, 6])
    expect(() => zerosLikeTree({ W: 'x' } as unknown as Params)).toThrow(
      new TypeError('zerosLikeTree: p: expected a number, a tensor, an array or a record, got "x"'),
    )
  })

  it('zipTree names where two trees differ', () => {
    expect(() => zipTree({ W: zeros([2, 3]) }, { W: zeros([3, 2]) }, (a) => a)).toThrow(
      new ShapeError('zipTree: at W: shapes [2,3] and [3,2] differ'),
    )
    expect(() => zipTree({ a: [1, 2] }, { a: [1] }, (a) => a)).toThrow(
      new ShapeError('zipTree: at a: lengths 2 and 1 differ'),
    )
    expect(() => zipTree({ a: 1 }, { b: 1 }, (a) => a)).toThrow(
      new ShapeError('zipTree: at (root): keys ["a"] and ["b"] differ'),
    )
    expect(() => zipTree({ a: [1] }, { a: 1 }, (a) => a)).toThrow(
      new ShapeError('zipTree: at a: an array and a number differ'),
    )
  })

  it('visit reports paths and flat indices; pathAt finds one', () => {
    const seen: string[] = []
    visit({ W: tensor([[1, 2]]), b: 3, c: tensor(4) }, (v, path, k) =>
      seen.push(`${k}:${path}=${v}`),
    )
    expect(seen).toEqual(['0:W[0,0]=1', '1:W[0,1]=2', '2:b=3', '3:c=4'])
    expect(pathAt({ W: zeros([2, 3]), b: zeros([3]) }, 4)).toBe('W[1,1]')
    expect(pathAt(p, 10)).toBe('extra[1].s')
  })

  it('assertParams rejects what is not a tree, naming the path', () => {
    expect(() => assertParams('train', 'params', { W: 'x' })).toThrow(
      new TypeError('train: params.W: expected a number, a tensor, an array or a record, got "x"'),
    )
    expect(() => assertParams('train', 'params', { W: new Float64Array(2) })).toThrow(
      new TypeError(
        'train: params.W: expected a number, a tensor, an array or a record, got Float64Array(2)',
      ),
    )
    expect(() => assertParams('train', 'params', [new Map()])).toThrow(
      new TypeError('train: params[0]: expected a number, a tensor, an array or a record, got Map'),
    )
  })

  it('globalNorm is √Σv², also where squares overflow or underflow', () => {
    expect(globalNorm({ a: 3, b: tensor([4]) })).toBe(5)
    // the rescaled pass divides by the largest value, squares, sums and takes √: ≤ 4 roundings
    const rel = (a: number, b: number) => Math.abs(a - b) / b
    expect(rel(globalNorm([3e200, 4e200]), 5e200)).toBeLessThanOrEqual(4 * Number.EPSILON)
    expect(rel(globalNorm([3e-200, 4e-200]), 5e-200)).toBeLessThanOrEqual(4 * Number.EPSILON)
    expect(globalNorm([1, NaN])).toBeNaN()
  })

  it('flatten ∘ unflatten is the identity on random trees', () => {
    const tree = fc
      .array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 8 })
      .map((xs) => ({ t: tensor(xs), n: xs[0], arr: [xs.length, { k: -xs[0] }] }) as Params)
    fc.assert(
      fc.property(tree, (q) => {
        const flat = flatten(q)
        expect([...flatten(unflatten(q, flat))]).toEqual([...flat])
      }),
    )
  })
})
