import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sgd } from 'gradstream/operators'
import { runSteps } from '../transforms/fixture.js'
import { expectAgreement, lr } from './agree.js'
import { bookSgd, torchSgd } from './reference.js'

describe('sgd', () => {
  it("equals the book's SGD bit for bit over 30 steps", () => {
    expectAgreement(
      lr,
      (h) => sgd(h),
      (h) => bookSgd(h),
      { exact: true },
    )
  })

  it('equals torch.optim.SGD bit for bit over 30 steps', () => {
    expectAgreement(
      lr,
      (h) => sgd(h),
      (h) => torchSgd(h),
      { exact: true },
    )
  })

  it('records the learning rate a schedule gives at each step', () => {
    const states = runSteps(
      sgd((k) => 1 / (k + 1)),
      [1],
      () => [1],
      3,
    )
    expect(states.map((s) => s.lr)).toEqual([1, 1 / 2, 1 / 3])
    expect(states.map((s) => s.hyper['scaleByLearningRate.lr'])).toEqual([1, 1 / 2, 1 / 3])
    expect(states[2].params[0]).toBe(1 - 1 - 1 / 2 - 1 / 3)
    void fc
  })
})
