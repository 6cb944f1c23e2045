import { describe, expect, it } from 'vitest'
import { ema, sgd } from 'gradstream/operators'
import { runSteps } from './fixture.js'

describe('ema', () => {
  it('θ̄ starts at θ and follows θ̄ ← β·θ̄ + (1−β)·θ after each update', () => {
    const beta = 0.9
    const states = runSteps(
      (s$) => s$.pipe(sgd(0.1), ema(beta)),
      [4],
      (_, p) => [2 * p[0]],
      5,
    )
    let avg = NaN
    states.forEach((s, t) => {
      const theta = s.params[0]
      avg = t === 0 ? theta : beta * avg + (1 - beta) * theta
      expect((s.opt.ema as { average: number[] }).average[0]).toBe(avg)
    })
    expect(states[4].hyper['ema.decay']).toBe(0.9)
  })

  it('rejects two emas with one name in a step', () => {
    expect(() =>
      runSteps(
        (s$) => s$.pipe(sgd(0.1), ema(0.9), ema(0.5)),
        [4],
        () => [1],
        1,
      ),
    ).toThrow(
      new Error(
        'ema: name: expected a slot name no other ema in this step uses, got "ema" (pass { name } to tell them apart)',
      ),
    )
    expect(() => ema(1)).toThrow(new RangeError('ema: decay: expected a number in [0, 1), got 1'))
  })
})
