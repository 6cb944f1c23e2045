import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flatten } from 'gradstream'
import { adam, adamw, lion } from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSteps, template, treesLike } from '../transforms/fixture.js'
import { eps, expectAgreement, lr, unit } from './agree.js'
import { bookAdam, optaxLion, torchAdam } from './reference.js'

const betas = fc.tuple(unit(0.99), fc.double({ min: 0.9, max: 0.9999, noNaN: true }))

describe('adam', () => {
  it('equals torch.optim.Adam within 1e-12 over 30 steps', () => {
    const h = fc.tuple(lr, betas, eps)
    expectAgreement(
      h,
      ([a, [b1, b2], e]) => adam(a, { b1, b2, eps: e }),
      ([a, [b1, b2], e]) => torchAdam(a, b1, b2, e),
    )
  })

  it("with efficient: true and ε = 1e-7, equals the book's Adam within 1e-12 over 30 steps", () => {
    const h = fc.tuple(lr, betas)
    expectAgreement(
      h,
      ([a, [b1, b2]]) => adam(a, { b1, b2, eps: 1e-7, efficient: true }),
      ([a, [b1, b2]]) => bookAdam(a, b1, b2),
    )
  })

  it('moves every coordinate by lr on the first step (ε = 0)', () => {
    const away = fc.oneof(
      fc.double({ min: 1e-3, max: 3, noNaN: true }),
      fc.double({ min: -3, max: -1e-3, noNaN: true }),
    )
    fc.assert(
      fc.property(
        template.chain((t) => fc.tuple(treesLike(t, 1), treesLike(t, 1, away))),
        lr,
        ([[p], [g]], a) => {
          const [s] = runSteps(adam(a, { eps: 0 }), p, () => g, 1)
          const P = flatten(p)
          // |Δθ| = lr·|ĝ|/√ĝ² = lr, up to ~10 roundings in the bias corrections and in θ + Δθ
          // (the latter absolute, of θ's size)
          flatten(s.params).forEach((v, i) =>
            expectClose(
              Math.abs(v - P[i]),
              a,
              { atol: 16 * 2 ** -52 * (1 + Math.abs(P[i])) },
              `θ[${i}]`,
            ),
          )
        },
      ),
    )
  })
})

describe('option checks', () => {
  it('rejects misspelt options', () => {
    expect(() => adam(0.1, { beta1: 0.9 } as never)).toThrow(
      new TypeError(
        'adam: options.beta1: expected no such key (known: b1, b2, eps, efficient), got 0.9',
      ),
    )
    expect(() => adamw(0.1, { weight_decay: 0.1 } as never)).toThrow(
      new TypeError(
        'adamw: options.weight_decay: expected no such key (known: b1, b2, eps, efficient, weightDecay, mask), got 0.1',
      ),
    )
    expect(() => lion(0.1, { wd: 0.1 } as never)).toThrow(
      new TypeError(
        'lion: options.wd: expected no such key (known: b1, b2, weightDecay, mask), got 0.1',
      ),
    )
    expect(() => adam(-0.1)).toThrow(
      new RangeError('adam: lr: expected a positive finite number, got -0.1'),
    )
  })
})

describe('adamw', () => {
  it('equals torch.optim.AdamW within 1e-12 over 30 steps', () => {
    const h = fc.tuple(lr, betas, eps, fc.double({ min: 0, max: 0.1, noNaN: true }))
    expectAgreement(
      h,
      ([a, [b1, b2], e, wd]) => adamw(a, { b1, b2, eps: e, weightDecay: wd }),
      ([a, [b1, b2], e, wd]) => torchAdam(a, b1, b2, e, wd),
    )
  })

  it('skips decay where the mask says so', () => {
    const [s] = runSteps(
      adamw(0.1, { weightDecay: 0.5, mask: { w: true, b: false }, eps: 0 }),
      { w: 2, b: 2 },
      () => ({ w: 1, b: 1 }),
      1,
    )
    expect(s.params).toEqual({ w: 2 - 0.1 * (1 + 0.5 * 2), b: 2 - 0.1 * 1 })
  })
})

describe('lion', () => {
  it("equals optax's lion bit for bit over 30 steps", () => {
    const h = fc.tuple(lr, unit(0.99), unit(0.999), fc.double({ min: 0, max: 0.1, noNaN: true }))
    expectAgreement(
      h,
      ([a, b1, b2, wd]) => lion(a, { b1, b2, weightDecay: wd }),
      ([a, b1, b2, wd]) => optaxLion(a, b1, b2, wd),
      { exact: true },
    )
  })
})
