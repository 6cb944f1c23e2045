import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten, mapTree, ShapeError, tensor } from 'gradstream'
import { scaleByAdam } from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSync, template, treesLike, withGradientState } from './fixture.js'

// One step's formula (optax scale_by_adam / torch.optim.Adam, t = count + 1), written anew:
//   μ' = β1·μ + (1−β1)·g,  ν' = β2·ν + (1−β2)·g²,  u = (μ'/(1−β1ᵗ)) / (√(ν'/(1−β2ᵗ)) + ε)
// and the book's "efficient" form: u = √(1−β2ᵗ)/(1−β1ᵗ) · μ' / (√ν' + ε).
// Tolerance: the formula is ~10 roundings (2⁻⁵³ each) of operands no larger than the result's
// scale, so 1e-12 relative with an absolute floor of 1e-12 is a loose bound.
const tol = { atol: 1e-12, rtol: 1e-12 }
const unit = fc.double({ min: 0, max: 0.999, noNaN: true })

describe('scaleByAdam', () => {
  it('doc example: the first update of 2 is 1 (with eps 0)', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: 2 }), scaleByAdam({ eps: 0 }))
    expect(s.updates).toEqual({ w: 1 })
    expect(s.opt.scaleByAdam).toEqual({
      count: 1,
      mu: { w: (1 - 0.9) * 2 },
      nu: { w: (1 - 0.999) * 2 * 2 },
    })
    expect(s.hyper).toEqual({
      'scaleByAdam.b1': 0.9,
      'scaleByAdam.b2': 0.999,
      'scaleByAdam.eps': 0,
    })
  })

  it('one step equals the formula from random moments and counts', () => {
    fc.assert(
      fc.property(
        template.chain((tpl) =>
          fc.tuple(treesLike(tpl, 3), fc.integer({ min: 0, max: 50 }), unit, unit, fc.boolean()),
        ),
        fc.double({ min: 1e-10, max: 1e-3, noNaN: true }),
        ([[g, mu, nu0], count, b1, b2, efficient], eps) => {
          const nu = {
            ...nu0,
            W: { ...nu0.W, data: nu0.W.data.map(Math.abs) },
            b: nu0.b.map(Math.abs),
            s: Math.abs(nu0.s),
          }
          const state = withGradientState(g, g, { opt: { scaleByAdam: { count, mu, nu } } })
          const out = runSync(state, scaleByAdam({ b1, b2, eps, efficient }))
          const [G, M, N, U] = [g, mu, nu, out.updates].map((x) => flatten(x))
          const t = count + 1
          const M1 = flatten((out.opt.scaleByAdam as { mu: typeof mu }).mu)
          const N1 = flatten((out.opt.scaleByAdam as { nu: typeof nu }).nu)
          for (let i = 0; i < G.length; i++) {
            const m = b1 * M[i] + (1 - b1) * G[i]
            const n = b2 * N[i] + (1 - b2) * G[i] ** 2
            const u = efficient
              ? ((Math.sqrt(1 - b2 ** t) / (1 - b1 ** t)) * m) / (Math.sqrt(n) + eps)
              : m / (1 - b1 ** t) / (Math.sqrt(n / (1 - b2 ** t)) + eps)
            expectClose(M1[i], m, tol, `mu[${i}]`)
            expectClose(N1[i], n, tol, `nu[${i}]`)
            expectClose(U[i], u, { atol: 1e-12 * (1 + Math.abs(u)), rtol: 1e-12 }, `u[${i}]`)
          }
          expect((out.opt.scaleByAdam as { count: number }).count).toBe(t)
        },
      ),
    )
  })

  it('the first step has magnitude 1 in every coordinate (lr after scaleByLearningRate)', () => {
    // m̂ = g and ν̂ = g² exactly in real arithmetic, so u = g/(|g| + ε): with ε = 0 that is ±1
    // up to the few roundings of the bias corrections (≤ 8 ulp); with ε > 0 it is 1 − ε/(|g|+ε).
    fc.assert(
      fc.property(
        template.chain((tpl) => treesLike(tpl, 1, fc.double({ min: 1e-3, max: 3, noNaN: true }))),
        unit,
        unit,
        ([g], b1, b2) => {
          const out = runSync(withGradientState(g, g), scaleByAdam({ b1, b2, eps: 0 }))
          for (const u of flatten(out.updates))
            expectClose(Math.abs(u), 1, { atol: 8 * 2 ** -52 }, 'u')
          const withEps = runSync(withGradientState(g, g), scaleByAdam({ b1, b2, eps: 1e-8 }))
          const G = flatten(g)
          flatten(withEps.updates).forEach((u, i) =>
            expectClose(
              Math.abs(u),
              Math.abs(G[i]) / (Math.abs(G[i]) + 1e-8),
              { atol: 1e-14 },
              `u${i}`,
            ),
          )
        },
      ),
    )
  })

  it('with b1 = 0 it is bias-corrected RMSprop: u / (√(ν/(1−β2ᵗ)) + ε)', () => {
    fc.assert(
      fc.property(
        template.chain((tpl) => fc.tuple(treesLike(tpl, 2), fc.integer({ min: 0, max: 50 }))),
        unit,
        ([[g, nu0], count], b2) => {
          const nu = mapTree(nu0, Math.abs)
          const mu = mapTree(nu0, () => 123) // ignored when b1 = 0
          const state = withGradientState(g, g, { opt: { scaleByAdam: { count, mu, nu } } })
          const U = flatten(runSync(state, scaleByAdam({ b1: 0, b2, eps: 1e-8 })).updates)
          const N = flatten(nu)
          const t = count + 1
          flatten(g).forEach((gi, i) => {
            const n = b2 * N[i] + (1 - b2) * gi * gi
            const u = gi / (Math.sqrt(n / (1 - b2 ** t)) + 1e-8)
            expectClose(U[i], u, { atol: 1e-12 * (1 + Math.abs(u)), rtol: 1e-12 }, `u[${i}]`)
          })
        },
      ),
    )
  })

  it('works on tensors and accepts schedules for b1', () => {
    const s = runSync(
      withGradientState({ W: tensor([1, 2]) }, { W: tensor([3, -4]) }, { step: 9 }),
      scaleByAdam({ b1: (k) => 0.05 * k, eps: 0 }),
    )
    expect(s.hyper['scaleByAdam.b1']).toBe(0.45)
    expect(Array.from(s.updates.W.data)).toEqual([1, -1])
  })

  it('names the leaf where a slot does not fit the parameters (a checkpoint of another model)', () => {
    const slot = { count: 1, mu: { W: tensor([0, 0, 0]) }, nu: { W: tensor([0, 0, 0]) } }
    const state = withGradientState(
      { W: tensor([1, 2]) },
      { W: tensor([1, 2]) },
      { opt: { scaleByAdam: slot } },
    )
    expect(() => runSync(state, scaleByAdam())).toThrow(
      new ShapeError('scaleByAdam: at W: shapes [3] and [2] differ'),
    )
  })

  it('validates', () => {
    expect(() => scaleByAdam({ b1: 1 })).toThrow(
      new RangeError('scaleByAdam: b1: expected a number in [0, 1), got 1'),
    )
    expect(() => scaleByAdam({ eps: -1 })).toThrow(
      new RangeError('scaleByAdam: eps: expected a non-negative finite number, got -1'),
    )
    expect(() => scaleByAdam({ beta1: 0.9 } as never)).toThrow(
      new TypeError(
        'scaleByAdam: options.beta1: expected no such key (known: b1, b2, eps, efficient, name), got 0.9',
      ),
    )
    expect(() => scaleByAdam(3 as never)).toThrow(
      new TypeError('scaleByAdam: options: expected an object, got 3'),
    )
    expect(() => scaleByAdam({ name: '' })).toThrow(
      new TypeError('scaleByAdam: name: expected a non-empty string, got ""'),
    )
  })
})
