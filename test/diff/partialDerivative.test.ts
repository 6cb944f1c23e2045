import { describe, expect, it } from 'vitest'
import { numericalDiff, partialDerivative, sum, tensor } from 'gradstream'

const f2 = (x: readonly number[]) => x[0] ** 2 + x[1] ** 2

describe('partialDerivative', () => {
  it('reproduces the book: ∂f/∂x0 at (3, 4) and ∂f/∂x1', () => {
    // the book's function_tmp1 / function_tmp2 with numerical_diff
    expect(partialDerivative(f2, [3, 4], 0)).toBe(6.00000000000378)
    expect(partialDerivative(f2, [3, 4], 1)).toBe(7.999999999999119)
  })

  it('equals numericalDiff of the function with the other coordinates fixed', () => {
    const f = ({ W }: { W: { data: Float64Array } }) => Math.sin(W.data[0]) * W.data[1]
    const p = { W: tensor([[0.3, 2]]) }
    expect(partialDerivative(f, p, 'W[0,0]')).toBe(numericalDiff((a) => Math.sin(a) * 2, 0.3))
    expect(partialDerivative(f, p, 1)).toBe(numericalDiff((b) => Math.sin(0.3) * b, 2))
  })

  it('rejects an unknown coordinate', () => {
    expect(() => partialDerivative(f2, [3, 4], 2)).toThrow(
      new RangeError('partialDerivative: coordinate: expected an integer in [0, 1], got 2'),
    )
    expect(() => partialDerivative(f2, [3, 4], 'x')).toThrow(
      new RangeError('partialDerivative: coordinate: expected one of p[0], p[1], got "x"'),
    )
    expect(() =>
      partialDerivative(({ W }) => sum(W), { W: tensor([1]) }, 'W[0]', { h: -1 }),
    ).toThrow(new RangeError('partialDerivative: h: expected a positive finite number, got -1'))
  })
})
