import { describe, expect, it } from 'vitest'
import { jacobian, numericalGradient, tensor, toArray, type Tensor } from 'gradstream'

describe('jacobian', () => {
  it('stacks one numerical gradient per output, rows = outputs', () => {
    const F = (p: readonly number[]) => [p[0] * p[1], p[0] + p[1], Math.sin(p[0])]
    const J = jacobian(F, [2, 3])
    expect(J.shape).toEqual([3, 2])
    const rows = [0, 1, 2].map((j) => numericalGradient((p: readonly number[]) => F(p)[j], [2, 3]))
    expect(toArray(J)).toEqual(rows)
  })

  it('takes trees in and out', () => {
    const J = jacobian((p: { W: Tensor }) => ({ y: p.W }), { W: tensor([[1, 2]]) })
    // ∂W/∂W = I; central differences of the identity are exact up to rounding of (w±h)
    // ~ ε·|w|/h ≈ 2e-12
    const I = [1, 0, 0, 1]
    ;[...J.data].forEach((v, i) => expect(Math.abs(v - I[i])).toBeLessThan(1e-11))
  })

  it('rejects outputs that change size or hold NaN', () => {
    expect(() =>
      jacobian((p: readonly number[]) => (p[1] > 2 ? [1, 2, 3] : [1, 2]), [1, 2]),
    ).toThrow('jacobian: f returned 3 values at p[1] + h, but 2 at p[0] + h')
    expect(() => jacobian((p: readonly number[]) => [p[0], p[0] < 1 ? NaN : 0], [1, 2])).toThrow(
      new RangeError('jacobian: f returned NaN in output 1 at p[0] - h'),
    )
    expect(() => jacobian(() => 'y' as never, [1])).toThrow(
      new TypeError('jacobian: f returned "y" at p[0] + h; expected a parameter tree'),
    )
  })
})
