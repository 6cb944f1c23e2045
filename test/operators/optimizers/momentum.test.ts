import fc from 'fast-check'
import { describe, it } from 'vitest'
import { pipe } from 'rxjs'
import {
  applyUpdates,
  momentum,
  nesterov,
  scaleByLearningRate,
  scaleByMomentum,
} from 'gradstream/operators'
import { expectAgreement, lr, unit } from './agree.js'
import { bookMomentum, torchSgd } from './reference.js'

const h = fc.tuple(lr, unit(0.99))

describe('momentum', () => {
  it("equals the book's Momentum bit for bit over 30 steps", () => {
    expectAgreement(
      h,
      ([a, b]) => momentum(a, b),
      ([a, b]) => bookMomentum(a, b),
      { exact: true },
    )
  })

  it('equals torch.optim.SGD(momentum=β) within 1e-12 over 30 steps', () => {
    expectAgreement(
      h,
      ([a, b]) => momentum(a, b),
      ([a, b]) => torchSgd(a, b),
    )
  })
})

describe('nesterov', () => {
  it('equals torch.optim.SGD(momentum=β, nesterov=True) within 1e-12 over 30 steps', () => {
    expectAgreement(
      h,
      ([a, b]) => nesterov(a, b),
      ([a, b]) => torchSgd(a, b, true),
    )
  })
})
