import fc from 'fast-check'
import { pipe } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { flatten } from 'gradstream'
import { scale, scaleByLearningRate } from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSync, template, treesLike, withGradientState } from './fixture.js'

const factor = fc.double({ min: -4, max: 4, noNaN: true })
// (u·a)·b and u·(a·b) are each two roundings of the same real number: they differ by at most
// 2·2⁻⁵³ relative to it on each side, so 4·2⁻⁵³ relative bounds the gap; below the normal
// range a rounding is absolute (half of Number.MIN_VALUE), hence the tiny absolute part.
const rtol = 4 * 2 ** -53
const atol = 2 * Number.MIN_VALUE

describe('scale', () => {
  it('doc example', () => {
    expect(runSync(withGradientState({ w: 1 }, { w: 2 }), scale(-0.5)).updates).toEqual({ w: -1 })
  })

  it('scale(a) then scale(b) equals scale(a·b)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        factor,
        factor,
        ([g], a, b) => {
          const s = withGradientState(g, g)
          const twice = runSync(s, pipe(scale(a), scale(b, { name: 'scale2' })))
          const once = runSync(s, scale(a * b))
          const T = flatten(twice.updates)
          flatten(once.updates).forEach((x, i) => expectClose(T[i], x, { atol, rtol }, `u[${i}]`))
          expect(twice.hyper).toEqual({ 'scale.factor': a, 'scale2.factor': b })
        },
      ),
    )
  })

  it('scaleByLearningRate(a) then scaleByLearningRate(b) equals scale(a·b) (two sign flips)', () => {
    const lr = fc.double({ min: 1e-6, max: 4, noNaN: true })
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        lr,
        lr,
        ([g], a, b) => {
          const s = withGradientState(g, g)
          const twice = runSync(
            s,
            pipe(scaleByLearningRate(a), scaleByLearningRate(b, { name: 'lr2' })),
          )
          const once = runSync(s, scale(a * b))
          const T = flatten(twice.updates)
          flatten(once.updates).forEach((x, i) => expectClose(T[i], x, { atol, rtol }, `u[${i}]`))
          expect(twice.lr).toBe(b)
        },
      ),
    )
  })

  it('validates', () => {
    expect(() => scale(NaN)).toThrow(
      new RangeError('scale: factor: expected a finite number, got NaN'),
    )
  })
})
