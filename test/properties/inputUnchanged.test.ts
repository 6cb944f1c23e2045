import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  directionalDerivative,
  flatten,
  jacobian,
  mapTree,
  numericalGradient,
  partialDerivative,
  tensor,
  toArray,
  treeSize,
  type Params,
  type Tensor,
} from 'gradstream'

const v = fc.double({ min: -5, max: 5, noNaN: true })
const matrix = fc
  .record({ r: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 3 }) })
  .chain(({ r, c }) =>
    fc.array(fc.array(v, { minLength: c, maxLength: c }), { minLength: r, maxLength: r }),
  )
/** A mixed tree: a record holding a tensor, a number and an array with a nested record. */
const tree = fc
  .record({ W: matrix, b: v, rest: fc.array(v, { minLength: 0, maxLength: 3 }), c: v })
  .map(({ W, b, rest, c }) => ({ W: tensor(W), b, layers: [...rest, { c }] }))

/** A deep snapshot that would reveal any write: values, shapes, keys, identities. */
const snapshot = (p: { W: Tensor; b: number; layers: unknown[] }) =>
  JSON.stringify({ W: toArray(p.W), shape: p.W.shape, b: p.b, layers: p.layers })

const loss = (p: Params): number => {
  let s = 0
  for (const x of flatten(p)) s += Math.sin(x) * x
  return s
}

describe('no call mutates its input', () => {
  it('numericalGradient, partialDerivative, directionalDerivative, jacobian', () => {
    fc.assert(
      fc.property(tree, (p) => {
        const before = snapshot(p)
        const data = p.W.data
        const seen: Params[] = []
        const spy = (q: Params) => {
          seen.push(q)
          // the caller's tree never shows a perturbed value, even mid-call
          expect(snapshot(p)).toBe(before)
          return loss(q)
        }
        const g = numericalGradient(spy, p)
        partialDerivative(spy, p, treeSize(p) - 1)
        directionalDerivative(
          spy,
          p,
          mapTree(p, () => 1),
        )
        jacobian((q: Params) => [spy(q), 2 * spy(q)], p, { method: 'forward' })
        expect(snapshot(p)).toBe(before)
        expect(p.W.data).toBe(data)
        expect(seen.every((q) => q !== p)).toBe(true)
        // the gradient has p's structure, and owns its buffers
        expect(g.W.shape).toEqual(p.W.shape)
        expect(g.W.data).not.toBe(p.W.data)
        expect(g.layers).toHaveLength(p.layers.length)
        expect(treeSize(g)).toBe(treeSize(p))
      }),
    )
  })
})
