import fc from 'fast-check'
import { describe, it } from 'vitest'
import { adagrad, rmsprop } from 'gradstream/operators'
import { eps, expectAgreement, lr, unit } from './agree.js'
import { bookAdagrad, bookRmsprop, torchAdagrad, torchRmsprop } from './reference.js'

describe('adagrad', () => {
  it('equals torch.optim.Adagrad within 1e-12 over 30 steps', () => {
    expectAgreement(
      fc.tuple(lr, eps),
      ([a, e]) => adagrad(a, e),
      ([a, e]) => torchAdagrad(a, e),
    )
  })

  it("equals the book's AdaGrad (ε = 1e-7) within 1e-12 over 30 steps", () => {
    expectAgreement(
      lr,
      (a) => adagrad(a, 1e-7),
      (a) => bookAdagrad(a),
    )
  })
})

describe('rmsprop', () => {
  it('equals torch.optim.RMSprop within 1e-12 over 30 steps', () => {
    const h = fc.tuple(lr, unit(0.999), eps)
    expectAgreement(
      h,
      ([a, d, e]) => rmsprop(a, d, e),
      ([a, d, e]) => torchRmsprop(a, d, e),
    )
  })

  it("equals the book's RMSprop (ε = 1e-7) within 1e-12 over 30 steps", () => {
    const h = fc.tuple(lr, unit(0.999))
    expectAgreement(
      h,
      ([a, d]) => rmsprop(a, d, 1e-7),
      ([a, d]) => bookRmsprop(a, d),
    )
  })
})
