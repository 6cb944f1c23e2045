import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten, globalNorm } from 'gradstream'
import { clipByGlobalNorm, clipByValue } from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSync, template, treesLike, withGradientState } from './fixture.js'

const maxNorm = fc.double({ min: 1e-3, max: 10, noNaN: true })

describe('clipByGlobalNorm', () => {
  it('doc example: (3, 4) clipped to norm 1', () => {
    const s = runSync(withGradientState({ a: 1, b: 1 }, { a: 3, b: 4 }), clipByGlobalNorm(1))
    expectClose(s.updates.a, 0.6, { rtol: 2 ** -52 }, 'a')
    expectClose(s.updates.b, 0.8, { rtol: 2 ** -52 }, 'b')
  })

  it('never increases the global norm, and ends at most maxNorm (up to rounding)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        maxNorm,
        ([g], c) => {
          const out = runSync(withGradientState(g, g), clipByGlobalNorm(c)).updates
          const before = globalNorm(g)
          const after = globalNorm(out)
          expect(after).toBeLessThanOrEqual(before)
          // each coordinate is rounded once after an exact-ish factor c/‖u‖: a few ulp of c
          expect(after).toBeLessThanOrEqual(c * (1 + 8 * 2 ** -52))
          // direction kept: every coordinate scaled by the same factor
          const G = flatten(g)
          // (no coordinate flips sign; a subnormal one may round to 0)
          flatten(out).forEach((v, i) =>
            expect(Math.sign(v) * Math.sign(G[i])).toBeGreaterThanOrEqual(0),
          )
        },
      ),
    )
  })

  it('leaves small gradients untouched (the same object)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        ([g]) => {
          const c = globalNorm(g) * 1.5 + 1e-9
          const out = runSync(withGradientState(g, g), clipByGlobalNorm(c))
          expect(out.updates).toBe(g)
        },
      ),
    )
  })

  it('validates', () => {
    expect(() => clipByGlobalNorm(0)).toThrow(
      new RangeError('clipByGlobalNorm: maxNorm: expected a positive finite number, got 0'),
    )
  })
})

describe('clipByValue', () => {
  it('doc example', () => {
    const s = runSync(withGradientState([1, 1, 1], [3, -0.5, -7]), clipByValue(1))
    expect(s.updates).toEqual([1, -0.5, -1])
  })

  it('clamps to [−δ, δ], keeps values inside, never increases the norm', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        fc.double({ min: 0, max: 4, noNaN: true }),
        ([g], d) => {
          const out = runSync(withGradientState(g, g), clipByValue(d)).updates
          const G = flatten(g)
          flatten(out).forEach((v, i) =>
            expect(v).toBe(Math.abs(G[i]) <= d ? G[i] : Math.sign(G[i]) * d),
          )
          expect(globalNorm(out)).toBeLessThanOrEqual(globalNorm(g))
        },
      ),
    )
  })

  it('validates', () => {
    expect(() => clipByValue(-1)).toThrow(
      new RangeError('clipByValue: maxDelta: expected a non-negative finite number, got -1'),
    )
  })
})
