import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ad } from '../../src/autodiff/ad.js'
import { backward, param, type Var } from '../../src/autodiff/tape.js'
import type { Tensor } from '../../src/tensor/tensor.js'

// backward's order is part of its bits: a node reached by three or more paths sums their
// contributions in the order it produces them (float addition does not reassociate). The
// reference here is the documented walk written out with a Set and a Map: a depth-first
// post-order from `out` over the parents (in order) that require a gradient, visited backwards,
// each contribution added to the sum so far.
function reference(out: Var, seed: Tensor): Map<Var, Tensor> {
  const order: Var[] = []
  const seen = new Set<Var>([out])
  const visit = (v: Var): void => {
    for (const p of v.parents) {
      if (p.requiresGrad && !seen.has(p)) {
        seen.add(p)
        visit(p)
      }
    }
    order.push(v)
  }
  visit(out)
  const grads = new Map<Var, Tensor>([[out, seed]])
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]
    const g = grads.get(node)
    if (g === undefined) continue
    node.parents.forEach((p, i) => {
      if (!p.requiresGrad) return
      const c = node.vjps[i](g)
      const prev = grads.get(p)
      grads.set(
        p,
        prev === undefined
          ? c
          : { shape: prev.shape, data: prev.data.map((u, q) => u + c.data[q]) },
      )
    })
  }
  return grads
}

const T = (data: number[]): Tensor => ({ shape: [data.length], data: Float64Array.from(data) })

describe('backward', () => {
  it('sums every node’s contributions in the documented order, bit for bit, small graphs and large', () => {
    // random graphs of add/sub/mul over three parameters and a constant, each node reading two
    // earlier ones (many nodes reached by several paths); sizes on both sides of its switch
    // from arrays to a Set and a Map (32 nodes)
    const value = fc.double({ min: -3, max: 3, noNaN: true })
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 8, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('add', 'sub', 'mul')), {
          minLength: 3,
          maxLength: 60,
          size: 'max',
        }),
        (xs, steps) => {
          const leaves = [
            param(T(xs.slice(0, 2))),
            param(T(xs.slice(2, 4))),
            param(T(xs.slice(4, 6))),
          ]
          const nodes: Var[] = [...leaves, ad.neg(T(xs.slice(6, 8)))]
          for (const [a, b, op] of steps) {
            // mostly the latest nodes, so that paths are long and meet often
            const pick = (r: number) => nodes[Math.max(0, nodes.length - 1 - (r % 6))]
            nodes.push(ad[op as 'add' | 'sub' | 'mul'](pick(a), pick(b)))
          }
          const out = nodes[nodes.length - 1]
          const seed = T([0.7, -1.3])
          const want = reference(out, seed)
          const got = backward(out, seed)
          for (const v of nodes) {
            const w = want.get(v)
            const g = got.get(v)
            expect(g === undefined).toBe(w === undefined)
            if (g !== undefined && w !== undefined)
              expect(Array.from(g.data)).toEqual(Array.from(w.data))
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
