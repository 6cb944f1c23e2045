import fc from 'fast-check'
import { last, pipe } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { flatten, train } from 'gradstream'
import {
  adabelief,
  applyUpdates,
  gradient,
  maxSteps,
  scaleByBelief,
  scaleByLearningRate,
} from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSync, template, treesLike, withGradientState } from './fixture.js'

// One step of optax's scale_by_belief (t = count + 1), written anew:
//   μ' = β1·μ + (1−β1)·g,  s' = β2·s + (1−β2)·(g − μ')² + ε_root,
//   u = (μ'/(1−β1ᵗ)) / (√(s'/(1−β2ᵗ)) + ε)
// Tolerance: about ten roundings (2⁻⁵³ each) of operands no larger than the result's scale; the
// square root halves a relative error and the bias corrections are ≥ 1 − 0.999 = 1e-3 away from
// 0 (t ≥ 1), so 1e-11 relative with a matching absolute floor is a loose bound.
const tol = { atol: 1e-11, rtol: 1e-11 }
const unit = fc.double({ min: 0, max: 0.999, noNaN: true })
const small = fc.double({ min: 0, max: 1e-3, noNaN: true })

describe('scaleByBelief', () => {
  it('doc example: the first step of w² from 1 with η = 0.1 is 1/0.9', () => {
    let w = NaN
    const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } })
    const step = pipe(gradient(f), scaleByBelief(), scaleByLearningRate(0.1), applyUpdates())
    train({ params: { w: 1 }, step })
      .pipe(maxSteps(1), last())
      .subscribe((s) => (w = s.params.w))
    // μ̂ = g, ŝ = (0.9·g)² (+ ε_root / 0.001), u = g / (0.9·|g|) up to 1e-16-sized terms
    expectClose(w, 1 - 0.1 / 0.9, { atol: 1e-14, rtol: 0 }, 'w')
  })

  it('one step equals the formula from random moments and counts', () => {
    fc.assert(
      fc.property(
        template.chain((tpl) => fc.tuple(treesLike(tpl, 3), fc.integer({ min: 0, max: 50 }))),
        unit,
        unit,
        small,
        small,
        ([[g, mu, nu0], count], b1, b2, eps, epsRoot) => {
          const nu = {
            ...nu0,
            W: { ...nu0.W, data: nu0.W.data.map(Math.abs) },
            b: nu0.b.map(Math.abs),
            s: Math.abs(nu0.s),
          }
          const state = withGradientState(g, g, { opt: { scaleByBelief: { count, mu, nu } } })
          const out = runSync(state, scaleByBelief({ b1, b2, eps, epsRoot }))
          const slot = out.opt.scaleByBelief as { count: number; mu: typeof mu; nu: typeof nu }
          const [G, M, N, U, M1, N1] = [g, mu, nu, out.updates, slot.mu, slot.nu].map((x) =>
            flatten(x),
          )
          const t = count + 1
          for (let i = 0; i < G.length; i++) {
            const m = b1 * M[i] + (1 - b1) * G[i]
            const s = b2 * N[i] + (1 - b2) * (G[i] - m) ** 2 + epsRoot
            const u = m / (1 - b1 ** t) / (Math.sqrt(s / (1 - b2 ** t)) + eps)
            expectClose(M1[i], m, tol, `mu[${i}]`)
            expectClose(N1[i], s, tol, `nu[${i}]`)
            expectClose(U[i], u, { atol: 1e-11 * (1 + Math.abs(u)), rtol: 1e-11 }, `u[${i}]`)
          }
          expect(slot.count).toBe(t)
          expect(out.hyper).toEqual({
            'scaleByBelief.b1': b1,
            'scaleByBelief.b2': b2,
            'scaleByBelief.eps': eps,
            'scaleByBelief.epsRoot': epsRoot,
          })
        },
      ),
    )
  })

  it('adabelief(lr) is scaleByBelief then −η: the parameters move by −η·u', () => {
    const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
    const runs = [
      adabelief(0.3),
      pipe(scaleByBelief(), scaleByLearningRate(0.3), applyUpdates()) as never,
    ]
    const ends = runs.map((opt) => {
      let p: readonly number[] = []
      train({ params: [-7, 2], step: pipe(gradient(f), opt as (typeof runs)[0]) })
        .pipe(maxSteps(30), last())
        .subscribe((s) => (p = s.params))
      return p
    })
    expect(ends[0]).toEqual(ends[1])
    expect(ends[0][0] ** 2 / 20 + ends[0][1] ** 2).toBeLessThan(7 ** 2 / 20 + 4)
  })

  it('validates', () => {
    expect(() => scaleByBelief({ b1: 1 })).toThrow(
      new RangeError('scaleByBelief: b1: expected a number in [0, 1), got 1'),
    )
    expect(() => scaleByBelief({ epsRoot: -1 })).toThrow(
      new RangeError('scaleByBelief: epsRoot: expected a non-negative finite number, got -1'),
    )
    expect(() => scaleByBelief({ beta1: 0.9 } as never)).toThrow(
      new TypeError(
        'scaleByBelief: options.beta1: expected no such key (known: b1, b2, eps, epsRoot, name), got 0.9',
      ),
    )
    expect(() => adabelief(-0.1)).toThrow(
      new RangeError('adabelief: lr: expected a positive finite number, got -0.1'),
    )
  })
})
