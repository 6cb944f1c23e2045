import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { setKernelBackend } from 'gradstream'
import { ad } from '../../src/autodiff/ad.js'
import type { Var } from '../../src/autodiff/tape.js'
import { valueAndGrad } from '../../src/autodiff/valueAndGrad.js'
import { crossEntropyError } from '../../src/functions/crossEntropyError.js'
import { twoLayerGradient } from '../../src/nn/twoLayerGradient.js'
import { twoLayerNet, type TwoLayerParams } from '../../src/nn/twoLayerNet.js'
import type { Tensor } from '../../src/tensor/tensor.js'
import { adopt } from '../../src/tree/handOver.js'
import { flatten, pathAt, unflatten } from '../../src/tree/tree.js'
import { expectGradientsAgree, richardsonGradient } from '../autodiff/numeric.js'
import { expectAllClose } from '../helpers/expectClose.js'

const T = (shape: number[], data: number[]): Tensor => ({ shape, data: Float64Array.from(data) })

const p: TwoLayerParams = {
  W1: T([3, 2], [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]),
  b1: T([2], [0.01, -0.02]),
  W2: T([2, 3], [0.7, -0.8, 0.9, -1.0, 1.1, -1.2]),
  b2: T([3], [0.05, 0.0, -0.05]),
}
const x = T([2, 3], [1, 2, 3, -1, 0.5, 2])
const oneHot = T([2, 3], [0, 0, 1, 1, 0, 0])
const labels = T([2], [2, 0])

describe('twoLayerNet.gradient (backprop)', () => {
  it('equals the book’s TwoLayerNet.gradient run in NumPy', () => {
    // python3 bench/book_two_layer_gradient.py (the book's code verbatim, NumPy float64)
    const book = {
      W1: [
        -0.032790683765617196, -0.03331087059569045, -0.30902038183624303, 0.17447043649694147,
        -0.585250079906869, 0.38225174358957337,
      ],
      b1: [-0.22754189520962412, 0.15956287155496746],
      W2: [
        -0.08772641137128685, 0.20129417209939152, -0.11356776072810466, -0.2594935721671803,
        0.5920559291322172, -0.33256235696503683,
      ],
      b2: [-0.3217814021248472, 0.6780239201483571, -0.35624251802351],
    }
    const net = twoLayerNet({ inputSize: 3, hiddenSize: 2, outputSize: 3 })
    const g = net.gradient(p, x, oneHot)
    // Same float64 formulas; only exp (≤ 1 ulp apart between V8 and glibc) and summation order
    // differ, each a few ulp of values O(0.1–1): 1e-14 absolute is ~50 ulp of margin.
    for (const k of ['W1', 'b1', 'W2', 'b2'] as const)
      expectAllClose(g[k].data, book[k], { atol: 1e-14 }, k)
    expect(g.W1.shape).toEqual([3, 2])
    expect(g.b2.shape).toEqual([3])
  })

  it('takes labels or one-hot rows alike, and one example as a batch of one', () => {
    const a = twoLayerGradient(p, x, oneHot)
    const b = twoLayerGradient(p, x, labels)
    for (const k of ['W1', 'b1', 'W2', 'b2'] as const)
      expectAllClose(b.grad[k].data, a.grad[k].data, { atol: 1e-17 }, k)
    const row = T([3], [1, 2, 3])
    const single = twoLayerGradient(p, row, 2)
    const batch1 = twoLayerGradient(p, T([1, 3], [1, 2, 3]), T([1], [2]))
    expect(single).toEqual(batch1)
    expect(twoLayerGradient(p, row, T([3], [0, 0, 1]))).toEqual(batch1)
  })

  it('returns the fused loss the net computes, bit for bit, and changes no input', () => {
    const net = twoLayerNet({
      inputSize: 3,
      hiddenSize: 2,
      outputSize: 3,
      loss: 'softmaxCrossEntropy',
    })
    const before = flatten(p).slice()
    const { loss } = net.lossAndGradient(p, x, oneHot)
    expect(loss).toBe(net.loss(p, x, oneHot))
    expect(flatten(p)).toEqual(before)
    expect(Array.from(x.data)).toEqual([1, 2, 3, -1, 0.5, 2])
  })

  it('agrees with the numerical gradient of the fused loss (gradient check) and with autodiff', () => {
    const value = fc.double({ min: -2, max: 2, noNaN: true })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(value, { minLength: 12, maxLength: 12 }),
        (d, h, k, n, seed, xs) => {
          const net = twoLayerNet({
            inputSize: d,
            hiddenSize: h,
            outputSize: k,
            weightInitStd: 1,
            seed,
            loss: 'softmaxCrossEntropy',
          })
          const xb = T(
            [n, d],
            Array.from({ length: n * d }, (_, i) => xs[i % 12]),
          )
          const tb = T(
            [n],
            Array.from({ length: n }, (_, i) => (seed + i) % k),
          )
          const { loss, grad } = net.lossAndGradient(net.params, xb, tb)
          const numerical = richardsonGradient(
            (q) => net.loss(unflatten(net.params, q), xb, tb),
            flatten(net.params),
          )
          expectGradientsAgree(flatten(grad), numerical, loss, (i) => pathAt(net.params, i))
          const viaTape = valueAndGrad((q: Record<string, Var>, b: { x: Tensor; t: Tensor }) =>
            ad.softmaxCrossEntropy(
              ad.add(ad.matmul(ad.sigmoid(ad.add(ad.matmul(b.x, q.W1), q.b1)), q.W2), q.b2),
              b.t,
            ),
          )(net.params, { x: xb, t: tb })
          // two exact gradients of the same float64 function: 1e-13 absolute is ample for O(1) values
          expectAllClose(
            flatten(viaTape.grad),
            flatten(grad),
            { atol: 1e-13 },
            'autodiff vs backprop',
          )
          expect(viaTape.value).toBe(loss)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('names the mismatched input shape', () => {
    expect(() => twoLayerGradient(p, T([2, 4], [0, 0, 0, 0, 0, 0, 0, 0]), labels)).toThrow(
      'twoLayerNet.gradient: x: expected shape [N,3] to match W1 [3,2], got [2,4]',
    )
  })

  it('names a target that fits neither one-hot rows nor labels', () => {
    expect(() => twoLayerGradient(p, x, T([3], [0, 1, 2]))).toThrow(
      'twoLayerNet.gradient: t: expected shape [2,3] (one-hot) or [2] (labels) to match y [2,3], got [3]',
    )
    expect(() => twoLayerGradient(p, x, T([2], [0, 3]))).toThrow(
      'twoLayerNet.gradient: t[1]: expected an integer label in [0, 2], got 3',
    )
  })

  it('names an unknown loss', () => {
    expect(() => twoLayerGradient(p, x, labels, { loss: 'mse' as never })).toThrow(
      new RangeError(
        'twoLayerNet.gradient: loss: expected "crossEntropy" or "softmaxCrossEntropy", got "mse"',
      ),
    )
  })

  it('the book’s δ form: its loss is crossEntropyError(softmax(a2)), its δ2 written anew', () => {
    // δ2 = ∂L/∂a2 for L = −Σ t·log(y + δ)/N: wⱼ = −tⱼ·yⱼ/((yⱼ + δ)·N), δ2ⱼ = wⱼ − yⱼ·Σₖwₖ,
    // so ∂b2 = Σᵢ δ2ᵢ; here from the net's own predict (softmax of the logits)
    const net = twoLayerNet({ inputSize: 3, hiddenSize: 2, outputSize: 3, loss: 'crossEntropy' })
    const { loss, grad } = twoLayerGradient(p, x, oneHot, { loss: 'crossEntropy' })
    const y = net.predict(p, x).data
    expect(loss).toBe(crossEntropyError(net.predict(p, x), oneHot))
    const b2 = [0, 0, 0]
    for (let i = 0; i < 2; i++) {
      const w = [0, 1, 2].map(
        (j) => (-oneHot.data[i * 3 + j] * y[i * 3 + j]) / ((y[i * 3 + j] + 1e-7) * 2),
      )
      const sw = w.reduce((a, b) => a + b, 0)
      for (let j = 0; j < 3; j++) b2[j] += w[j] - y[i * 3 + j] * sw
    }
    // the same formula summed in another order: a few ulp of O(0.5) values
    expectAllClose(grad.b2.data, b2, { atol: 1e-15 }, 'b2')
    // labels and one-hot rows alike
    expectAllClose(
      twoLayerGradient(p, x, labels, { loss: 'crossEntropy' }).grad.W1.data,
      grad.W1.data,
      { atol: 1e-17 },
      'W1',
    )
  })

  it('returns fresh gradients that later calls leave alone, handed over to the gradient stage', () => {
    // the intermediates live in buffers reused from call to call: a result must not be one
    const first = twoLayerGradient(p, x, oneHot)
    const kept = flatten(first.grad).slice()
    const other = twoLayerGradient(p, T([2, 3], [3, -2, 1, 0.5, 0.5, -1]), labels)
    const wider = twoLayerGradient(p, T([1, 3], [1, 0, 0]), T([1], [1]))
    expect(flatten(first.grad)).toEqual(kept)
    expect(flatten(other.grad)).not.toEqual(kept)
    expect(wider.grad.W1.shape).toEqual([3, 2])
    const leaves = (g: typeof first.grad) => [g.W1, g.b1, g.W2, g.b2]
    const buffers = new Set([...leaves(first.grad), ...leaves(other.grad)].map((t) => t.data))
    expect(buffers.size).toBe(8)
    // each gradient is marked once as the producer's to give away (adopt consumes the mark)
    for (const t of leaves(first.grad)) expect(adopt(t)).toBe(true)
    for (const t of leaves(first.grad)) expect(adopt(t)).toBe(false)
  })

  describe('on an MNIST-sized sparse batch (the step runs in wasm memory on that backend)', () => {
    afterAll(() => setKernelBackend('auto'))
    // 100 × 784 inputs with ~19% non-zeros, as MNIST images: x is compressed and held, and the
    // whole step runs on it in wasm; the js backend runs the same arithmetic product by product
    function batch(seed: number) {
      let s = seed
      const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
      const xb = T(
        [100, 784],
        Array.from({ length: 78400 }, () => (next() < 0.19 ? next() : 0)),
      )
      const tb = T(
        [100],
        Array.from({ length: 100 }, () => Math.floor(next() * 10)),
      )
      const net = twoLayerNet({
        inputSize: 784,
        hiddenSize: 50,
        outputSize: 10,
        seed,
        weightInitStd: 0.1,
      })
      return { xb, tb, params: net.params }
    }
    const bits = (r: { loss: number; grad: TwoLayerParams }) => [r.loss, ...flatten(r.grad)]
    /** Positions where two runs differ as values (Object.is: NaN = NaN, +0 ≠ −0); expect none. */
    const differing = (a: number[], b: number[]) =>
      a.length !== b.length ? [-1] : a.flatMap((v, i) => (Object.is(v, b[i]) ? [] : [i]))

    it('gives the js backend’s loss and gradients bit for bit, and autodiff’s within rounding', () => {
      for (const seed of [1, 2]) {
        const { xb, tb, params } = batch(seed)
        setKernelBackend('wasm')
        const wasm = twoLayerGradient(params, xb, tb)
        setKernelBackend('js')
        const js = twoLayerGradient(params, xb, tb)
        expect(differing(bits(wasm), bits(js))).toEqual([])
        const viaTape = valueAndGrad((q: Record<string, Var>, b: { x: Tensor; t: Tensor }) =>
          ad.softmaxCrossEntropy(
            ad.add(ad.matmul(ad.sigmoid(ad.add(ad.matmul(b.x, q.W1), q.b1)), q.W2), q.b2),
            b.t,
          ),
        )(params, { x: xb, t: tb })
        // the same float64 function, sums in another order: gradients are O(0.01–1), 1e-13 absolute
        expectAllClose(flatten(viaTape.grad), flatten(wasm.grad), { atol: 1e-13 }, 'autodiff')
        expect(Math.abs(viaTape.value - wasm.loss)).toBeLessThan(1e-13)
      }
    })

    it('shows ∞ and NaN in the weights as the js backend does (dense products where needed)', () => {
      const { xb, tb, params } = batch(3)
      // NaN in W1 (x·W1 must go dense), ∞ in W2 (δ1 turns NaN: xᵀ·δ1 must go dense), NaN in
      // b2; −∞ in b1 only saturates one hidden unit's sigmoid to 0 (everything stays finite)
      for (const [key, at, v, nonFinite] of [
        ['W1', 5, NaN, true],
        ['W2', 7, Infinity, true],
        ['b1', 0, -Infinity, false],
        ['b2', 3, NaN, true],
      ] as const) {
        const q = { ...params, [key]: T([...params[key].shape], Array.from(params[key].data)) }
        q[key].data[at] = v
        setKernelBackend('wasm')
        const wasm = bits(twoLayerGradient(q, xb, tb))
        setKernelBackend('js')
        const js = bits(twoLayerGradient(q, xb, tb))
        expect(differing(wasm, js)).toEqual([])
        expect(wasm.some((u) => !Number.isFinite(u))).toBe(nonFinite)
      }
    })
  })
})
