import { describe, expect, it } from 'vitest'
import { directionalDerivative, tensor, type Tensor } from 'gradstream'

const f2 = (x: readonly number[]) => x[0] ** 2 + x[1] ** 2

describe('directionalDerivative', () => {
  it('along a unit axis it is the partial derivative, with the same arithmetic', () => {
    expect(directionalDerivative(f2, [3, 4], [1, 0])).toBe(6.00000000000378)
  })

  it('is one central difference along the line p + s·v', () => {
    const h = 1e-4
    const v = [0.6, -0.8]
    const line = (s: number) => f2([3 + s * v[0], 4 + s * v[1]])
    expect(directionalDerivative(f2, [3, 4], v)).toBe((line(h) - line(-h)) / (2 * h))
  })

  it('rejects a direction of another structure', () => {
    const f = (p: { W: Tensor }) => p.W.data[0]
    expect(() =>
      directionalDerivative(
        f,
        {
          W: tensor([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        },
        {
          W: tensor([
            [1, 2],
            [3, 4],
            [5, 6],
          ]),
        },
      ),
    ).toThrow('directionalDerivative: at W: shapes [2,3] and [3,2] differ')
    expect(() => directionalDerivative(f2, [1, 2], [1, NaN])).toThrow(
      new RangeError('directionalDerivative: v[1]: expected a finite number, got NaN'),
    )
  })

  it('names the probe where f returned NaN', () => {
    expect(() => directionalDerivative((x) => (x[0] < 1 ? NaN : 0), [1, 1], [1, 1])).toThrow(
      new RangeError('directionalDerivative: f returned NaN at p - h·v'),
    )
  })
})
