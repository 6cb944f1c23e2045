import { describe, expect, it } from 'vitest'
import { randn, rng, simpleNet, softmax, tensor, toArray, type Tensor } from 'gradstream'

// the book's §4.4.2 run: W as printed, x = (0.6, 0.9), t = class 2
const W = [
  [0.47355232, 0.9977393, 0.84668094],
  [0.85557411, 0.03563661, 0.69422093],
]
const x = [0.6, 0.9]
const t = [0, 0, 1]
// printed by the book's code (python3 with numpy 2.4: numerical_gradient(f, net.W).tolist())
const bookDW = [
  [0.2192475712392561, 0.14356242984070455, -0.3628100010055757],
  [0.3288713569016277, 0.21534364482433954, -0.5442150014739466],
]

describe('simpleNet', () => {
  const net = simpleNet(W)

  it('reproduces the book: predict and loss', () => {
    // x·W with two products and one sum per entry, the arithmetic NumPy's dot used here
    expect(toArray(net.predict(x))).toEqual([1.054148091, 0.630716529, 1.132807401])
    expect(net.loss(x, t)).toBe(0.9280682857864075)
  })

  it('reproduces the book: dW, to the last bit the elementary functions allow', () => {
    const dW = toArray(net.numericalGradient(x, t)) as number[][]
    // Each loss evaluation goes through exp (3×) and log; V8's (fdlibm, < 1 ulp) and glibc's
    // (< 0.51 ulp) differ in the last bit for some arguments, and OpenBLAS's dot may fuse a
    // multiply-add. A loss of ≈ 0.93 then differs by at most ~2 ulp = 2.2e-16 per evaluation,
    // so each entry (f+ − f−)/2h by at most 2·2.2e-16 / 2e-4 = 2.2e-12. (4 of the 6 entries
    // come out bit for bit; the other 2 differ by exactly one loss ulp / 2h = 5.6e-13.)
    dW.forEach((row, i) =>
      row.forEach((v, j) => expect(Math.abs(v - bookDW[i][j])).toBeLessThanOrEqual(2.3e-12)),
    )
  })

  it('dW is the book loop over W with this loss, bit for bit', () => {
    const h = 1e-4
    const W0 = tensor(W)
    const dW = net.numericalGradient(x, t)
    for (let i = 0; i < 6; i++) {
      const plus = tensor(W)
      plus.data[i] = W0.data[i] + h
      const minus = tensor(W)
      minus.data[i] = W0.data[i] - h
      expect(dW.data[i]).toBe((net.loss(x, t, plus) - net.loss(x, t, minus)) / (2 * h))
    }
  })

  it('dW ≈ xᵀ(softmax(x·W) − t), the analytic gradient', () => {
    const y = softmax(net.predict(x)).data
    const dW = net.numericalGradient(x, t)
    // The loss is −log(y₂ + δ), whose gradient is (y₂/(y₂ + δ))·xᵢ(yⱼ − tⱼ): it differs from the
    // δ-free one by (δ/(y₂ + δ))·xᵢ|yⱼ − tⱼ| (≈ 1e-7 here). On top: central-difference truncation
    // h²·|f‴|/6 ≲ 1e-8·O(1)/6 and rounding ε·|f|/h ≈ 1e-12, covered by 1e-8.
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) {
        const g = x[i] * (y[j] - t[j])
        const tol = (1e-7 / (y[2] + 1e-7)) * Math.abs(g) + 1e-8
        expect(Math.abs(dW.data[i * 3 + j] - g)).toBeLessThan(tol)
      }
  })

  it('keeps its own copy of W and is pure in W', () => {
    const Wt = tensor(W)
    const n = simpleNet(Wt)
    Wt.data[0] = 99
    expect(n.W.data[0]).toBe(0.47355232)
    n.numericalGradient(x, t)
    expect(toArray(n.W)).toEqual(W)
  })

  it('draws W from randn(2, 3) with a seed', () => {
    const n = simpleNet({ seed: 7 })
    expect(n.W.shape).toEqual([2, 3])
    expect([...n.W.data]).toEqual([...randn([2, 3], rng(7)).data])
    expect(simpleNet().W.shape).toEqual([2, 3])
  })

  it('rejects a non-matrix W and inputs of the wrong width', () => {
    expect(() => simpleNet([1, 2, 3])).toThrow('simpleNet: W: expected a matrix, got shape [3]')
    expect(() => net.predict([1, 2, 3])).toThrow('matmul: shapes [3] and [2,3] do not align')
    expect(() => net.loss(x, [0, 1])).toThrow(
      'crossEntropyError: t: expected shape [3] (one-hot) or [] (labels) to match y [3], got [2]',
    )
    expect(() => simpleNet({ sed: 1 } as never)).toThrow(
      'simpleNet: init: expected a weight matrix or { seed }, got an object',
    )
  })

  it('the doc example: a batch of inputs gives a batch of logits', () => {
    const logits: Tensor = net.predict([x, x])
    expect(logits.shape).toEqual([2, 3])
  })
})
