import { describe, expect, it } from 'vitest'
import { identity, relu, sigmoid, sigmoidGrad, step, tanh, tensor, toArray } from 'gradstream'

describe('activations', () => {
  const x = tensor([-1, 0, 2])

  it('step is 1 where x > 0, else 0 (the book: np.array(x > 0, dtype=int))', () => {
    expect(toArray(step(x))).toEqual([0, 0, 1])
    expect(step(-0.5)).toBe(0)
    expect(step(1e-300)).toBe(1)
  })

  it('sigmoid is 1 / (1 + e⁻ˣ), finite at the extremes', () => {
    expect(toArray(sigmoid(x))).toEqual([1 / (1 + Math.exp(1)), 0.5, 1 / (1 + Math.exp(-2))])
    expect(sigmoid(-1000)).toBe(0)
    expect(sigmoid(1000)).toBe(1)
  })

  it('sigmoidGrad is (1 − σ)·σ', () => {
    const s = 1 / (1 + Math.exp(-0.7))
    expect(sigmoidGrad(0.7)).toBe((1 - s) * s)
    expect(sigmoidGrad(0)).toBe(0.25)
    expect(toArray(sigmoidGrad(tensor([0])))).toEqual([0.25])
  })

  it('relu, tanh and identity', () => {
    expect(toArray(relu(x))).toEqual([0, 0, 2])
    expect(relu(-3)).toBe(0)
    expect(toArray(tanh(x))).toEqual([Math.tanh(-1), 0, Math.tanh(2)])
    expect(identity(3)).toBe(3)
    const y = identity(x)
    expect(toArray(y)).toEqual([-1, 0, 2])
    expect(y.data).not.toBe(x.data)
  })

  it('never writes into its input', () => {
    const t = tensor([[-1, 2]])
    for (const f of [step, sigmoid, sigmoidGrad, relu, tanh, identity]) f(t)
    expect(toArray(t)).toEqual([[-1, 2]])
  })

  it('rejects what is neither a number nor a tensor', () => {
    expect(() => sigmoid('a' as never)).toThrow(
      new TypeError('sigmoid: x: expected a number or a tensor, got "a"'),
    )
    expect(() => relu([1, 2] as never)).toThrow(
      new TypeError('relu: x: expected a number or a tensor, got [1,2]'),
    )
  })
})
