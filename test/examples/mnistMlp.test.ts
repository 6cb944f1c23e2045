import { describe, expect, it } from 'vitest'
import { main } from '../../examples/mnistMlp.js'

describe('example: mnist-mlp', () => {
  it('trains the mlp for an epoch on a subset and reports test accuracy above chance', () => {
    const { lines, last } = main({ trainSize: 1000, testSize: 500, epochs: 1 })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^epoch 1: loss \d\.\d{4}, test acc 0\.\d+$/)
    // 10 steps of Adam on 1,000 images; chance is 0.1
    expect(last!.metrics.testAcc).toBeGreaterThan(0.3)
    expect(last!.step).toBe(10)
  })
})
