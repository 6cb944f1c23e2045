import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten, rng, zeros } from 'gradstream'
import { addNoise } from 'gradstream/operators'
import { runSync, withGradientState } from './fixture.js'

describe('addNoise', () => {
  it('doc example: u + σ₁·n with σ₁² = η, n the seed’s first normal', () => {
    const s = runSync(withGradientState({ w: 0 }, { w: 0 }), addNoise({ eta: 0.01, seed: 1 }))
    expect(s.updates.w).toBe(Math.sqrt(0.01) * rng(1).normal())
    expect(s.opt.addNoise).toEqual({
      count: 1,
      rng: expect.objectContaining({ words: expect.any(Array) }),
    })
  })

  it('step t adds σₜ·n with σₜ² = η/tᵞ, normals continuing one sequence (flattening order)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2147483648, max: 4294967295 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, eta, gamma) => {
          const p = { a: zeros([2]), b: 0 }
          const r = rng(seed)
          let s = withGradientState(p, p)
          for (let t = 1; t <= 3; t++) {
            const out = runSync(s, addNoise({ eta, gamma, seed }))
            const sigma = Math.sqrt(eta / t ** gamma)
            const expected = [0, 0, 0].map(() => 0 + sigma * r.normal())
            expect(Array.from(flatten(out.updates))).toEqual(expected)
            s = withGradientState(p, p, { step: t, opt: out.opt })
          }
        },
      ),
      { numRuns: 50 },
    )
  })

  it('validates', () => {
    expect(() => addNoise({ seed: 0.5 })).toThrow(
      new RangeError('addNoise: seed: expected an integer in [-2147483648, 4294967295], got 0.5'),
    )
    expect(() => addNoise({ seed: 1, eta: -1 })).toThrow(
      new RangeError('addNoise: eta: expected a non-negative finite number, got -1'),
    )
  })
})
