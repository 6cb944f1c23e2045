import { describe, expect, it } from 'vitest'
import { mapTree } from 'gradstream'
import { chain, gradientTransform, masked, scaleByLearningRate } from 'gradstream/operators'
import { runSync, withGradientState } from './fixture.js'

const signum = () =>
  gradientTransform({
    name: 'signum',
    hyper: { c: 2 },
    update: (u, _: undefined, { hyper }) => [mapTree(u, (v) => Math.sign(v) * hyper.c), undefined],
  })

describe('gradientTransform', () => {
  it('a user transform gets hyperparameters recorded and composes with the wrappers', () => {
    const s = runSync(
      withGradientState({ W: 1, b: 1 }, { W: -3, b: 5 }),
      masked(chain(signum(), scaleByLearningRate(0.5)), { W: true, b: false }),
    )
    expect(s.updates).toEqual({ W: 1, b: 5 }) // −0.5·sign(−3)·2 on W only
    expect(s.hyper).toEqual({ 'chain.signum.c': 2, 'chain.scaleByLearningRate.lr': 0.5 })
    expect(s.lr).toBe(0.5)
  })

  it('keeps its slot and rejects a second one of the same name', () => {
    const counter = () =>
      gradientTransform({
        name: 'counter',
        init: () => ({ n: 0 }),
        update: (u, slot: { n: number }) => [u, { n: slot.n + 1 }],
      })
    const s = runSync(withGradientState({ w: 1 }, { w: 1 }), counter())
    expect(s.opt.counter).toEqual({ n: 1 })
    expect(() =>
      runSync(withGradientState({ w: 1 }, { w: 1 }), (s$) => s$.pipe(counter(), counter())),
    ).toThrow(
      new Error(
        'counter: name: expected a slot name no other transform in this step uses, got "counter" (pass { name } to tell them apart)',
      ),
    )
  })

  it('checks its definition and its hyperparameters in its own name', () => {
    expect(() => gradientTransform({ name: 'x' } as never)).toThrow(
      new TypeError('gradientTransform: update: expected a function, got undefined'),
    )
    expect(() => gradientTransform({ update: (u: never) => [u, undefined] } as never)).toThrow(
      new TypeError('gradientTransform: name: expected a non-empty string, got undefined'),
    )
    expect(() =>
      gradientTransform({ name: 'x', update: (u: never) => [u, undefined], lr: 1 } as never),
    ).toThrow(
      new TypeError(
        'gradientTransform: definition.lr: expected no such key (known: name, hyper, init, update), got 1',
      ),
    )
    expect(() =>
      runSync(
        withGradientState({ w: 1 }, { w: 1 }, { step: 4 }),
        gradientTransform({
          name: 'signum',
          hyper: { c: () => NaN },
          update: (u) => [u, undefined],
        }),
      ),
    ).toThrow(new RangeError('signum: c at step 4: expected a finite number, got NaN'))
  })
})
