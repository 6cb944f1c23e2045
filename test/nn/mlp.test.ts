import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { accuracy } from '../../src/nn/accuracy.js'
import { mlp } from '../../src/nn/mlp.js'
import type { Tensor } from '../../src/tensor/tensor.js'
import { flatten, pathAt, unflatten } from '../../src/tree/tree.js'
import { expectGradientsAgree, richardsonGradient } from '../autodiff/numeric.js'

const T = (shape: number[], data: number[]): Tensor => ({ shape, data: Float64Array.from(data) })

describe('accuracy', () => {
  const identity = { logits: (_: null, x: Tensor) => x }
  const y = T([3, 3], [0.1, 0.8, 0.1, 0.3, 0.2, 0.5, 0.9, 0, 0.1])

  it('counts rows whose argmax is the target: labels or one-hot (the book’s example style)', () => {
    // argmax rows: 1, 2, 0; targets 1, 2, 1 → 2 of 3
    expect(accuracy(identity, null, y, T([3], [1, 2, 1]))).toBe(2 / 3)
    expect(accuracy(identity, null, y, T([3, 3], [0, 1, 0, 0, 0, 1, 0, 1, 0]))).toBe(2 / 3)
  })

  it('scores large sets in chunks with the same result', () => {
    // 12,001 rows (three chunks): row i's scores peak at class i mod 4; targets i mod 3
    const n = 12001
    const x = T(
      [n, 4],
      Array.from({ length: 4 * n }, (_, k) => (k % 4 === Math.floor(k / 4) % 4 ? 1 : 0)),
    )
    const t = T(
      [n],
      Array.from({ length: n }, (_, i) => i % 3),
    )
    let expected = 0
    for (let i = 0; i < n; i++) if (i % 4 === i % 3) expected++
    expect(accuracy(identity, null, x, t)).toBe(expected / n)
  })

  it('names a target shape that does not fit', () => {
    expect(() => accuracy(identity, null, y, T([2], [0, 1]))).toThrow(
      'accuracy: t: expected [N] labels or [N,3] one-hot rows for N = 3, got shape [2]',
    )
    expect(() => accuracy({} as never, null, y, T([3], [0, 1, 2]))).toThrow(
      new TypeError(
        'accuracy: net: expected an object with a logits(params, x) method, got an object',
      ),
    )
  })
})

describe('mlp', () => {
  it('names its parameters as the book’s MultiLayerNet, with the requested shapes', () => {
    const net = mlp({ sizes: [4, 3, 2], seed: 1 })
    expect(Object.keys(net.params)).toEqual(['W1', 'b1', 'W2', 'b2'])
    expect(net.params.W1.shape).toEqual([4, 3])
    expect(net.params.b2.shape).toEqual([2])
    expect(Array.from(net.params.b1.data)).toEqual([0, 0, 0])
    expect(net.config).toEqual({ sizes: [4, 3, 2], activation: 'relu', init: 'he', seed: 1 })
  })

  it('draws He, Xavier and fixed-std weights with the right spread', () => {
    // 400×500 = 200,000 draws: the sample std is within ~3·σ/√(2n) ≈ 0.5% of σ; 2% is generous
    const std = (t: Tensor) => Math.sqrt(t.data.reduce((s, v) => s + v * v, 0) / t.data.length)
    const he = mlp({ sizes: [400, 500], init: 'he', seed: 2 }).params.W1
    const xavier = mlp({ sizes: [400, 500], activation: 'sigmoid', seed: 2 }).params.W1
    const fixed = mlp({ sizes: [400, 500], init: 0.01, seed: 2 }).params.W1
    expect(Math.abs(std(he) / Math.sqrt(2 / 400) - 1)).toBeLessThan(0.02)
    expect(Math.abs(std(xavier) / Math.sqrt(1 / 400) - 1)).toBeLessThan(0.02)
    expect(Math.abs(std(fixed) / 0.01 - 1)).toBeLessThan(0.02)
  })

  it('its autodiff gradient passes the gradient check on random nets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }),
        fc.constantFrom('sigmoid' as const, 'tanh' as const),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 8, maxLength: 8 }),
        (sizes, activation, seed, xs) => {
          fc.pre(sizes[sizes.length - 1] >= 2)
          const net = mlp({ sizes, activation, init: 1, seed })
          const x = T(
            [2, sizes[0]],
            Array.from({ length: 2 * sizes[0] }, (_, i) => xs[i % 8]),
          )
          const t = T([2], [seed % sizes[sizes.length - 1], (seed + 1) % sizes[sizes.length - 1]])
          const { loss, grad } = net.lossAndGradient(net.params, x, t)
          expect(loss).toBe(net.loss(net.params, x, t))
          const numerical = richardsonGradient(
            (q) => net.loss(unflatten(net.params, q), x, t),
            flatten(net.params),
          )
          expectGradientsAgree(flatten(grad), numerical, loss, (i) => pathAt(net.params, i))
        },
      ),
      { numRuns: 60 },
    )
  })

  it('learns: gradient descent lowers the loss and lifts accuracy above chance', () => {
    // two classes split by the sign of x₀ + x₁ on a fixed grid of 64 points
    const pts: number[] = []
    const labels: number[] = []
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) {
        const a = (i - 3.5) / 3.5
        const b = (j - 3.5) / 3.5
        pts.push(a, b)
        labels.push(a + b > 0 ? 1 : 0)
      }
    const x = T([64, 2], pts)
    const t = T([64], labels)
    const net = mlp({ sizes: [2, 8, 2], activation: 'tanh', seed: 3 })
    let p = net.params
    const first = net.loss(p, x, t)
    for (let k = 0; k < 200; k++) {
      const { grad } = net.lossAndGradient(p, x, t)
      p = Object.fromEntries(
        Object.entries(p).map(([name, w]) => [
          name,
          { shape: w.shape, data: w.data.map((v, i) => v - 0.5 * grad[name].data[i]) },
        ]),
      )
    }
    expect(net.loss(p, x, t)).toBeLessThan(first / 2)
    expect(accuracy(net, p, x, t)).toBeGreaterThan(0.9)
  })

  it('validates its configuration', () => {
    expect(() => mlp({ sizes: [3, 0] })).toThrow(
      new RangeError('mlp: sizes[1]: expected a positive integer, got 0'),
    )
    expect(() => mlp({ sizes: [3] })).toThrow(
      'mlp: sizes: expected at least two layer widths, got [3]',
    )
    expect(() => mlp({ sizes: [3, 2], init: -1 })).toThrow(
      'mlp: init: expected "he", "xavier" or a positive finite number, got -1',
    )
    expect(() => mlp({ sizes: [3, 2], activation: 'gelu' as never })).toThrow(
      'mlp: activation: expected "relu", "sigmoid" or "tanh", got "gelu"',
    )
  })
})
