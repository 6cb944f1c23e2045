import { describe, expect, it } from 'vitest'
import { main } from '../../examples/customOptimizer.js'

describe('example: custom optimizer (clipped Adam + masked weight decay + warmup-cosine)', () => {
  it('trains simpleNet on the blobs and records the learning rate each step used', () => {
    const { text, states, objective, accuracy, lr } = main(120)
    expect(states).toHaveLength(121)
    const first = objective(states[0].params)
    const last = objective(states[120].params)
    // three well-separated blobs: a linear classifier fits them; from the book's random W the
    // loss falls by an order of magnitude and most points are classified right
    expect(last).toBeLessThan(first / 10)
    expect(accuracy(states[120].params)).toBeGreaterThanOrEqual(0.9)
    // the value used by the update that produced state k is the schedule at k − 1
    for (let k = 1; k <= 120; k++) expect(states[k].lr).toBe(lr(k - 1))
    expect(states[1].lr).toBe(0) // the warmup starts at 0: the first update is a no-op
    expect(states[1].params).toEqual(states[0].params)
    expect(Object.keys(states[120].opt)).toEqual(['scaleByAdam'])
    expect(Object.keys(states[120].hyper).sort()).toEqual([
      'addDecayedWeights.weightDecay',
      'clipByGlobalNorm.maxNorm',
      'scaleByAdam.b1',
      'scaleByAdam.b2',
      'scaleByAdam.eps',
      'scaleByLearningRate.lr',
    ])
    expect(text).toContain('step   loss      accuracy  lr')
  })
})
