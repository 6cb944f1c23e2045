import { describe, expect, it } from 'vitest'
import { main } from '../../examples/simpleNetGradient.js'

describe('example: simpleNet gradient', () => {
  it("prints the book's loss and a dW next to the analytic one", () => {
    const { text, loss, dW } = main()
    expect(loss).toBe(0.9280682857864075)
    expect(text).toContain('predict(x) = x·W = [1.054148091, 0.630716529, 1.132807401]')
    expect(dW[0][0]).toBe(0.2192475712392561)
    expect(text).toContain('dW (analytic')
  })
})
