import fc from 'fast-check'
import { pipe } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  chain,
  clipByGlobalNorm,
  scaleByAdam,
  scaleByLearningRate,
  scaleByMomentum,
} from 'gradstream/operators'
import { runSync, sameBits, template, treesLike, withGradientState } from './fixture.js'

describe('chain', () => {
  it('chain(a, b) maps updates as a then b would, bit for bit, over several steps', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 4)),
        ([p, ...grads]) => {
          let a = withGradientState(p, grads[0])
          let b = a
          for (const [k, g] of grads.entries()) {
            const one = runSync(
              { ...a, grad: g, updates: g, step: k },
              chain(clipByGlobalNorm(1), scaleByMomentum(0.9), scaleByAdam()),
            )
            const two = runSync(
              { ...b, grad: g, updates: g, step: k },
              pipe(clipByGlobalNorm(1), scaleByMomentum(0.9), scaleByAdam()),
            )
            expect(sameBits(one.updates, two.updates)).toBe(true)
            expect(one.opt.chain).toEqual({
              scaleByMomentum: two.opt.scaleByMomentum,
              scaleByAdam: two.opt.scaleByAdam,
            })
            a = { ...one, transforms: undefined } as never
            b = { ...two, transforms: undefined } as never
          }
        },
      ),
      { numRuns: 50 },
    )
  })

  it('records hyperparameters under the chain, lr included', () => {
    const s = runSync(
      withGradientState({ w: 1 }, { w: 1 }),
      chain(scaleByMomentum(0.5), scaleByLearningRate(0.1), { name: 'mine' }),
    )
    expect(s.hyper).toEqual({
      'mine.scaleByMomentum.beta': 0.5,
      'mine.scaleByLearningRate.lr': 0.1,
    })
    expect(s.lr).toBe(0.1)
  })

  it('rejects duplicate children', () => {
    expect(() => chain(scaleByAdam(), scaleByAdam())).toThrow(
      new Error(
        'chain: transforms: expected distinct slot names, got "scaleByAdam" twice (pass { name } to tell them apart)',
      ),
    )
  })
})
