import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten, mapTree } from 'gradstream'
import { scaleByAdagrad, scaleByRms } from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSync, template, treesLike, withGradientState } from './fixture.js'

// A handful of roundings each (2⁻⁵³ relative to operands of the result's scale): 1e-13 is loose.
const tol = (x: number) => ({ atol: 1e-13 * (1 + Math.abs(x)), rtol: 1e-13 })

describe('scaleByAdagrad', () => {
  it('doc example: 2/√4 = 1', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: 2 }), scaleByAdagrad(0))
    expect(s.updates).toEqual({ w: 1 })
    expect(s.opt.scaleByAdagrad).toEqual({ sumOfSquares: { w: 4 } })
  })

  it('one step from a random accumulator: h = h + u², update u/(√h + ε)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        fc.double({ min: 1e-10, max: 1e-3, noNaN: true }),
        ([g, h0], eps) => {
          const h = mapTree(h0, Math.abs)
          const out = runSync(
            withGradientState(g, g, { opt: { scaleByAdagrad: { sumOfSquares: h } } }),
            scaleByAdagrad(eps),
          )
          const H = flatten(h)
          const U = flatten(out.updates)
          flatten(g).forEach((gi, i) => {
            const hi = H[i] + gi * gi
            const u = gi / (Math.sqrt(hi) + eps)
            expectClose(U[i], u, tol(u), `u[${i}]`)
          })
        },
      ),
    )
  })

  it('starts from initialAccumulator and validates', () => {
    const s = runSync(
      withGradientState({ w: 1 }, { w: 3 }),
      scaleByAdagrad(0, { initialAccumulator: 16 }),
    )
    expect(s.updates).toEqual({ w: 3 / 5 })
    expect(() => scaleByAdagrad(-1)).toThrow(
      new RangeError('scaleByAdagrad: eps: expected a non-negative finite number, got -1'),
    )
    expect(() => scaleByAdagrad(0, { initialAccumulator: -1 })).toThrow(
      new RangeError(
        'scaleByAdagrad: initialAccumulator: expected a non-negative finite number, got -1',
      ),
    )
  })
})

describe('scaleByRms', () => {
  it('doc example: 2/√0.04 = 10', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: 2 }), scaleByRms(0.99, 0))
    // (1 − 0.99) is inexact and √, / add two roundings: a few ulp of 10
    expectClose(s.updates.w, 10, { rtol: 1e-15 }, 'u')
  })

  it('one step from a random average, ε outside (torch) or inside (optax) the root', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.double({ min: 1e-10, max: 1e-3, noNaN: true }),
        fc.boolean(),
        ([g, n0], decay, eps, epsInSqrt) => {
          const nu = mapTree(n0, Math.abs)
          const out = runSync(
            withGradientState(g, g, { opt: { scaleByRms: { nu } } }),
            scaleByRms(decay, eps, { epsInSqrt }),
          )
          const N = flatten(nu)
          const U = flatten(out.updates)
          flatten(g).forEach((gi, i) => {
            const n = decay * N[i] + (1 - decay) * gi * gi
            const u = epsInSqrt ? gi / Math.sqrt(n + eps) : gi / (Math.sqrt(n) + eps)
            expectClose(U[i], u, tol(u), `u[${i}]`)
          })
        },
      ),
    )
  })

  it('validates', () => {
    expect(() => scaleByRms(1)).toThrow(
      new RangeError('scaleByRms: decay: expected a number in [0, 1), got 1'),
    )
  })
})
