import { describe, expect, it } from 'vitest'
import { tensor } from 'gradstream'
import {
  perParameter,
  scaleByAdam,
  scaleByLearningRate,
  scaleByMomentum,
  sgd,
} from 'gradstream/operators'
import { runSteps, runSync, withGradientState } from './fixture.js'

describe('perParameter', () => {
  const p = { W1: tensor([1, 2]), b1: 3, W2: tensor([4]), b2: 5 }
  const g = { W1: tensor([2, -2]), b1: 1, W2: tensor([8]), b2: 6 }

  it('doc example: Adam on the weights, momentum on b1, b2 untouched', () => {
    const s = runSync(
      withGradientState(p, g),
      perParameter({
        W1: scaleByAdam({ eps: 0 }),
        W2: scaleByAdam({ eps: 0 }),
        b1: scaleByMomentum(0.5),
      }),
    )
    expect(Array.from(s.updates.W1.data)).toEqual([1, -1])
    expect(Array.from(s.updates.W2.data)).toEqual([1])
    expect(s.updates.b1).toBe(1)
    expect(s.updates.b2).toBe(6)
    expect(Object.keys(s.opt.perParameter as object).sort()).toEqual(['W1', 'W2', 'b1'])
    expect(s.hyper['perParameter.b1.beta']).toBe(0.5)
    expect(s.hyper['perParameter.W2.b2']).toBe(0.999)
  })

  it('per-parameter learning rates: each leaf follows its own SGD', () => {
    const states = runSteps(
      (s$) =>
        s$.pipe(
          perParameter({ W1: sgd(0.1), b1: sgd(0.5), W2: sgd(1), b2: scaleByLearningRate(2) }),
          sgd(1),
        ),
      p,
      () => g,
      2,
    )
    // two steps: θ − 2·η·g, with the outer sgd(1) flipping the sign back once more: θ + 2·η·g
    const last = states[1].params
    expect(Array.from(last.W1.data)).toEqual([1 + 2 * (0.1 * 2), 2 + 2 * (0.1 * -2)])
    expect(last.b1).toBe(3 + 2 * (0.5 * 1))
  })

  it('names a missing key', () => {
    expect(() => runSync(withGradientState(p, g), perParameter({ W3: scaleByAdam() }))).toThrow(
      new TypeError(
        'perParameter: W3: expected a key of the parameters (W1, W2, b1, b2), got "W3"',
      ),
    )
    expect(() => perParameter([] as never)).toThrow(
      new TypeError(
        'perParameter: transforms: expected a record of transforms by parameter key, got []',
      ),
    )
  })
})
