import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten } from 'gradstream'
import { scaleByLion } from 'gradstream/operators'
import { runSync, sameBits, template, treesLike, withGradientState } from './fixture.js'

const unit = fc.double({ min: 0, max: 0.999, noNaN: true })

describe('scaleByLion', () => {
  it('doc example: sign(0.1·−0.3) = −1', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: -0.3 }), scaleByLion())
    expect(s.updates).toEqual({ w: -1 })
  })

  it('one step from random momentum: sign((1−β1)g + β1·m), m = (1−β2)g + β2·m (optax order)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        unit,
        unit,
        ([g, mu], b1, b2) => {
          const out = runSync(
            withGradientState(g, g, { opt: { scaleByLion: { mu } } }),
            scaleByLion({ b1, b2 }),
          )
          const M = flatten(mu)
          const G = flatten(g)
          const u = G.map((gi, i) => Math.sign((1 - b1) * gi + b1 * M[i]))
          const m = G.map((gi, i) => (1 - b2) * gi + b2 * M[i])
          expect(sameBits(out.updates, u)).toBe(true)
          expect(sameBits((out.opt.scaleByLion as { mu: typeof mu }).mu, m)).toBe(true)
        },
      ),
    )
  })

  it('validates', () => {
    expect(() => scaleByLion({ b2: 2 })).toThrow(
      new RangeError('scaleByLion: b2: expected a number in [0, 1), got 2'),
    )
  })
})
