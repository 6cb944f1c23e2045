import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten } from 'gradstream'
import { scaleByMomentum, scaleByNesterov } from 'gradstream/operators'
import { runSync, sameBits, template, treesLike, withGradientState } from './fixture.js'

const beta = fc.double({ min: 0, max: 0.999, noNaN: true })

describe('scaleByMomentum', () => {
  it('doc example: from v = 0 the update is the input', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: -0.2 }), scaleByMomentum(0.9))
    expect(s.updates).toEqual({ w: -0.2 })
    expect(s.opt.scaleByMomentum).toEqual({ velocity: { w: -0.2 } })
    expect(s.hyper).toEqual({ 'scaleByMomentum.beta': 0.9 })
  })

  it('one step from a random velocity is v = β·v + u (computed the same way: bit for bit)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        beta,
        ([g, v], b) => {
          const out = runSync(
            withGradientState(g, g, { opt: { scaleByMomentum: { velocity: v } } }),
            scaleByMomentum(b),
          )
          const V = flatten(v)
          const expected = flatten(g).map((gi, i) => b * V[i] + gi)
          expect(sameBits(out.updates, expected)).toBe(true)
          expect(
            sameBits((out.opt.scaleByMomentum as { velocity: typeof v }).velocity, out.updates),
          ).toBe(true)
        },
      ),
    )
  })

  it('validates', () => {
    expect(() => scaleByMomentum(1)).toThrow(
      new RangeError('scaleByMomentum: beta: expected a number in [0, 1), got 1'),
    )
  })
})

describe('scaleByNesterov', () => {
  it('doc example: 2 + 0.9·2', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: 2 }), scaleByNesterov(0.9))
    expect(s.updates).toEqual({ w: 2 + 0.9 * 2 })
  })

  it('one step from a random velocity: v = β·v + u, update u + β·v', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        beta,
        ([g, v], b) => {
          const out = runSync(
            withGradientState(g, g, { opt: { scaleByNesterov: { velocity: v } } }),
            scaleByNesterov(b),
          )
          const V = flatten(v)
          const G = flatten(g)
          const v1 = G.map((gi, i) => b * V[i] + gi)
          const u = G.map((gi, i) => gi + b * v1[i])
          expect(sameBits(out.updates, u)).toBe(true)
          expect(sameBits((out.opt.scaleByNesterov as { velocity: typeof v }).velocity, v1)).toBe(
            true,
          )
        },
      ),
    )
  })

  it('validates', () => {
    expect(() => scaleByNesterov(-0.5)).toThrow(
      new RangeError('scaleByNesterov: beta: expected a number in [0, 1), got -0.5'),
    )
  })
})
