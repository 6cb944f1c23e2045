import fc from 'fast-check'
import { pipe } from 'rxjs'
import { describe, expect, it } from 'vitest'
import type { TrainState } from 'gradstream'
import {
  adagrad,
  adam,
  adamw,
  addNoise,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  lion,
  lookahead,
  masked,
  momentum,
  nesterov,
  perParameter,
  rmsprop,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
} from 'gradstream/operators'
import { checkpoint, restore } from '../../../src/state/checkpoint.js'
import { runSteps, sameBits, template, treesLike, type TreeT } from '../transforms/fixture.js'

// Every optimizer, and compositions whose slots nest (chain, masked, perParameter, lookahead)
// or hold a generator (addNoise).
const optimizers = {
  sgd: () => sgd(0.1),
  momentum: () => momentum(0.05, 0.9),
  nesterov: () => nesterov(0.05),
  adagrad: () => adagrad(0.1),
  rmsprop: () => rmsprop(0.01),
  adam: () => adam(0.01),
  adamw: () => adamw(0.01, { mask: { W: true, b: false, s: true } }),
  lion: () => lion(0.001),
  noisyLookahead: () =>
    pipe(
      addNoise({ seed: 7, eta: 0.1 }),
      lookahead(adam(0.01), { k: 3 }),
      masked(clipByGlobalNorm(0.5), (path: string) => path !== 's'),
      applyUpdates(),
    ),
  perParameter: () =>
    pipe(
      perParameter({ W: chain(scaleByAdam(), scaleByLearningRate(0.1)), b: momentum(0.1) }),
      sgd(1),
    ),
}

describe('optimizer state survives a JSON round trip', () => {
  it('checkpoint at step k, restore, continue: the same updates, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(optimizers) as (keyof typeof optimizers)[])),
        template.chain((t) => treesLike(t, 13)),
        fc.integer({ min: 1, max: 11 }),
        (name, [p0, ...grads], k) => {
          const op = optimizers[name]() as never
          const straight = runSteps<TreeT>(op, p0, (t) => grads[t], 12)
          const json = checkpoint(straight[k - 1] as TrainState)
          const resumed = restore(json) as TrainState<TreeT>
          const rest = runSteps<TreeT>(
            optimizers[name]() as never,
            resumed,
            (t) => grads[t],
            12 - k,
          )
          rest.forEach((s, i) => {
            const ref = straight[k + i]
            expect(s.step).toBe(ref.step)
            expect(sameBits(s.params, ref.params)).toBe(true)
            expect(s.opt).toEqual(ref.opt)
            expect(s.hyper).toEqual(ref.hyper)
          })
        },
      ),
      { numRuns: 60 },
    )
  })
})
