import { describe, expect, it } from 'vitest'
import { applyUpdates, lookahead, sgd } from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSteps } from './fixture.js'

describe('lookahead', () => {
  it('k fast SGD steps, then the slow weights move α of the way (Zhang et al. 2019, Alg. 1)', () => {
    const grad = (x: readonly number[]) => x.map((v, i) => (i + 1) * v) // f = Σ (i+1)·x²/2
    const [lr, k, alpha] = [0.1, 3, 0.5]
    const states = runSteps(
      (s$) => s$.pipe(lookahead(sgd(lr), { k, alpha }), applyUpdates()),
      [1, -2],
      (_, p) => grad(p),
      10,
    )
    // written anew: φ slow, θ fast
    let slow = [1, -2]
    let fast = [...slow]
    for (let t = 1; t <= 10; t++) {
      const g = grad(fast)
      fast = fast.map((v, i) => v - lr * g[i])
      if (t % k === 0) {
        slow = slow.map((s, i) => s + alpha * (fast[i] - s))
        fast = [...slow]
      }
      // θ + (φ − θ) rounds once more than φ itself: a few ulp
      fast.forEach((v, i) =>
        expectClose(states[t - 1].params[i], v, { atol: 1e-15, rtol: 1e-15 }, `t${t}[${i}]`),
      )
    }
    expect(states[9].hyper['lookahead.alpha']).toBe(0.5)
    expect(states[9].hyper['lookahead.inner.scaleByLearningRate.lr']).toBe(0.1)
    expect(states[9].lr).toBe(0.1)
  })

  it('validates', () => {
    expect(() => lookahead(sgd(0.1), { k: 0 })).toThrow(
      new RangeError('lookahead: k: expected a positive integer, got 0'),
    )
    expect(() => lookahead(sgd(0.1), { alpha: 2 })).toThrow(
      new RangeError('lookahead: alpha: expected a number in [0, 1], got 2'),
    )
  })
})
