import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten, tensor } from 'gradstream'
import {
  addNoise,
  chain,
  clipByGlobalNorm,
  masked,
  scaleByAdam,
  scaleByMomentum,
  type TransformLike,
} from 'gradstream/operators'
import { runSync, sameBits, template, treesLike, withGradientState } from './fixture.js'

describe('masked', () => {
  it('doc example: Adam on the weights, biases untouched', () => {
    const p = { W1: tensor([1, 2]), b1: tensor([3]), W2: 4, b2: 5 }
    const g = { W1: tensor([0.5, -0.5]), b1: tensor([7]), W2: 2, b2: -3 }
    const s = runSync(
      withGradientState(p, g),
      masked(scaleByAdam({ eps: 0 }), (path) => !path.startsWith('b')),
    )
    expect(Array.from(s.updates.W1.data)).toEqual([1, -1])
    expect(s.updates.W2).toBe(1)
    expect(s.updates.b1).toBe(g.b1)
    expect(s.updates.b2).toBe(-3)
    // the slot covers the selected leaves only, keyed by path
    expect(Object.keys((s.opt.scaleByAdam as { mu: object }).mu)).toEqual(['W1', 'W2'])
  })

  it('leaves unmasked leaves bit-identical and equals the inner transform on the masked ones', () => {
    const inner = fc.constantFrom(
      () => scaleByAdam(),
      () => scaleByMomentum(0.5),
      () => clipByGlobalNorm(0.1),
      () => addNoise({ seed: 3 }),
      () => chain(clipByGlobalNorm(1), scaleByAdam()),
    )
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        fc.record({ W: fc.boolean(), b: fc.boolean(), s: fc.boolean() }),
        inner,
        ([p, g], mask, make) => {
          const t: TransformLike = make()
          const out = runSync(withGradientState(p, g), masked(t, mask)).updates
          for (const k of ['W', 'b', 's'] as const) {
            if (!mask[k]) expect(sameBits(out[k], g[k])).toBe(true)
          }
          // the masked leaves get what the inner transform gives on the sub-tree alone
          const keep = (Object.keys(mask) as ('W' | 'b' | 's')[]).filter((k) => mask[k])
          const sub = (t: typeof p) => Object.fromEntries(keep.map((k) => [k, t[k]]))
          const alone = runSync(withGradientState(sub(p), sub(g)), make()).updates as Record<
            string,
            unknown
          >
          for (const k of keep) expect(sameBits(out[k], alone[k] as never)).toBe(true)
        },
      ),
    )
  })

  it('names a mask problem', () => {
    expect(() => masked(scaleByAdam(), 3 as never)).toThrow(
      new TypeError(
        'masked: mask: expected a function (path, leaf) => boolean or a tree of booleans, got 3',
      ),
    )
    expect(() =>
      runSync(
        withGradientState({ w: 1 }, { w: 1 }),
        masked(scaleByAdam(), () => 1 as never),
      ),
    ).toThrow(new TypeError('masked: mask("w"): expected a boolean, got 1'))
    expect(() => masked({} as never, () => true)).toThrow(
      new TypeError(
        'masked: transform: expected a gradient transform such as scaleByAdam() or an optimizer such as adam(1e-3), got an object',
      ),
    )
  })

  it('flattened sizes agree', () => {
    const p = { W: tensor([[1, 2]]), b: [3, 4] }
    const s = runSync(
      withGradientState(p, p),
      masked(scaleByMomentum(0.9), { W: true, b: [true, false] }),
    )
    expect(Array.from(flatten(s.updates))).toEqual([1, 2, 3, 4])
    expect((s.opt.scaleByMomentum as { velocity: object }).velocity).toEqual({ W: p.W, 'b[0]': 3 })
  })
})
