import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten, tensor } from 'gradstream'
import { addDecayedWeights } from 'gradstream/operators'
import { runSync, sameBits, template, treesLike, withGradientState } from './fixture.js'

describe('addDecayedWeights', () => {
  it('doc example: decays W, not b', () => {
    const s = runSync(
      withGradientState({ W: 2, b: 2 }, { W: 1, b: 1 }),
      addDecayedWeights(0.1, { mask: (path) => path !== 'b' }),
    )
    expect(s.updates).toEqual({ W: 1 + 0.1 * 2, b: 1 })
  })

  it('u + λ·θ on every leaf without a mask; only masked leaves with one', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ([p, g], wd) => {
          const all = runSync(withGradientState(p, g), addDecayedWeights(wd))
          const P = flatten(p)
          const expected = flatten(g).map((gi, i) => gi + wd * P[i])
          expect(sameBits(all.updates, expected)).toBe(true)
          const onlyW = runSync(
            withGradientState(p, g),
            addDecayedWeights(wd, { mask: { W: true, b: false, s: false } }),
          )
          const w = onlyW.updates.W.data.length
          expect(sameBits(onlyW.updates.W, expected.subarray(0, w))).toBe(true)
          expect(sameBits(onlyW.updates.b, g.b)).toBe(true)
          expect(onlyW.updates.s).toBe(g.s)
        },
      ),
    )
  })

  it('names a mask that does not fit', () => {
    expect(() =>
      runSync(
        withGradientState({ W: tensor([1]), b: 1 }, { W: tensor([1]), b: 1 }),
        addDecayedWeights(0.1, { mask: { W: true } }),
      ),
    ).toThrow(
      new TypeError(
        'addDecayedWeights: mask.b: expected a boolean or a subtree of booleans, got undefined',
      ),
    )
    expect(() => addDecayedWeights(0.1, { mask: { W: 1 } as never })).toThrow(
      new TypeError(
        'addDecayedWeights: mask.W: expected a function (path, leaf) => boolean or a tree of booleans, got 1',
      ),
    )
    expect(() => addDecayedWeights(-1)).toThrow(
      new RangeError(
        'addDecayedWeights: weightDecay: expected a non-negative finite number, got -1',
      ),
    )
  })
})
