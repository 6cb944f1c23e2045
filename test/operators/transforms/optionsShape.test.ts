import { describe, expect, it } from 'vitest'
import {
  adagrad,
  ema,
  momentum,
  nesterov,
  rmsprop,
  scaleByAdagrad,
  scaleByMomentum,
  scaleByNesterov,
  scaleByRms,
} from 'gradstream/operators'

// One options shape: the optional hyperparameters in one options object. The positional forms of
// the release before stay working (deprecated) and build the same transform.
const hyperOf = (op: { transform: { hyper: Record<string, { value: unknown }> } }) =>
  Object.fromEntries(Object.entries(op.transform.hyper).map(([k, s]) => [k, s.value]))

describe('the options object and the positional form of one release ago', () => {
  it('an options object sets its fields (a regression: they were once ignored for the defaults)', () => {
    expect(hyperOf(scaleByMomentum({ beta: 0.5 }))).toEqual({ beta: 0.5 })
    expect(hyperOf(scaleByNesterov({ beta: 0.25 }))).toEqual({ beta: 0.25 })
    expect(hyperOf(scaleByRms({ decay: 0.5, eps: 0.125 }))).toEqual({ decay: 0.5, eps: 0.125 })
    expect(hyperOf(scaleByAdagrad({ eps: 0.5 }))).toEqual({ eps: 0.5 })
    expect(scaleByMomentum({ name: 'v' }).transform.name).toBe('v')
  })

  it('no options: the defaults', () => {
    expect(hyperOf(scaleByMomentum())).toEqual({ beta: 0.9 })
    expect(hyperOf(scaleByRms())).toEqual({ decay: 0.99, eps: 1e-8 })
    expect(hyperOf(scaleByAdagrad())).toEqual({ eps: 1e-10 })
  })

  it('the positional form builds the same transform', () => {
    expect(hyperOf(scaleByMomentum(0.5, { name: 'v' }))).toEqual(
      hyperOf(scaleByMomentum({ beta: 0.5, name: 'v' })),
    )
    expect(scaleByMomentum(0.5, { name: 'v' }).transform.name).toBe('v')
    expect(hyperOf(scaleByRms(0.5, 0.125))).toEqual({ decay: 0.5, eps: 0.125 })
    expect(hyperOf(scaleByAdagrad(0.5))).toEqual({ eps: 0.5 })
    expect(hyperOf(scaleByNesterov(0.25))).toEqual({ beta: 0.25 })
    expect(hyperOf(momentum(0.1, 0.5))).toEqual(hyperOf(momentum(0.1, { beta: 0.5 })))
    expect(hyperOf(nesterov(0.1, 0.5))).toEqual(hyperOf(nesterov(0.1, { beta: 0.5 })))
    expect(hyperOf(rmsprop(0.1, 0.5, 0.25))).toEqual(
      hyperOf(rmsprop(0.1, { decay: 0.5, eps: 0.25 })),
    )
    expect(hyperOf(adagrad(0.1, 0.5))).toEqual(hyperOf(adagrad(0.1, { eps: 0.5 })))
  })

  it('checks both forms through the options codec, with the same message', () => {
    const message = 'scaleByMomentum: beta: expected a number in [0, 1), got 1'
    expect(() => scaleByMomentum({ beta: 1 })).toThrow(new RangeError(message))
    expect(() => scaleByMomentum(1)).toThrow(new RangeError(message))
    expect(() => ema(2)).toThrow(new RangeError('ema: decay: expected a number in [0, 1), got 2'))
    expect(() => ema({ decay: 2 })).toThrow(
      new RangeError('ema: decay: expected a number in [0, 1), got 2'),
    )
    expect(() => scaleByRms(0.9, 1e-8, { epsInSqrt: 1 } as never)).toThrow(
      new TypeError('scaleByRms: epsInSqrt: expected a boolean, got 1'),
    )
  })

  it('an options object followed by another argument is an error, not silently dropped', () => {
    expect(() =>
      (scaleByMomentum as (...a: unknown[]) => unknown)({ beta: 0.5 }, { name: 'v' }),
    ).toThrow(
      new TypeError(
        'scaleByMomentum: options: expected one options object and nothing after it, got an object',
      ),
    )
  })
})
