import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  crossEntropyError,
  flatten,
  randn,
  rng,
  setKernelBackend,
  softmaxCrossEntropy,
  sum,
  tensor,
  toArray,
  twoLayerNet,
  type TwoLayerParams,
} from 'gradstream'
import { expectClose } from '../helpers/expectClose.js'
import { reference } from '../helpers/referenceGemm.js'

const x = tensor([
  [0.1, -0.4, 0.9],
  [0.5, 0.2, -0.3],
  [-0.7, 0.8, 0.05],
  [0.3, 0.3, 0.3],
])
const labels = [0, 1, 2, 1]
const oneHot = labels.map((l) => [0, 1, 2].map((j) => (j === l ? 1 : 0)))

/** Backprop for affine → sigmoid → affine → softmax + cross-entropy, written anew (book §5.7). */
function analyticGradient(p: TwoLayerParams, xs: number[][], t: number[][]) {
  const [I, H] = p.W1.shape
  const O = p.W2.shape[1]
  const N = xs.length
  const g = {
    W1: new Float64Array(I * H),
    b1: new Float64Array(H),
    W2: new Float64Array(H * O),
    b2: new Float64Array(O),
  }
  for (let n = 0; n < N; n++) {
    const z = Array.from({ length: H }, (_, j) => {
      let a = p.b1.data[j]
      for (let i = 0; i < I; i++) a += xs[n][i] * p.W1.data[i * H + j]
      return 1 / (1 + Math.exp(-a))
    })
    const a2 = Array.from({ length: O }, (_, k) => {
      let a = p.b2.data[k]
      for (let j = 0; j < H; j++) a += z[j] * p.W2.data[j * O + k]
      return a
    })
    const m = Math.max(...a2)
    const e = a2.map((v) => Math.exp(v - m))
    const s = e.reduce((u, v) => u + v, 0)
    const dy = e.map((v, k) => (v / s - t[n][k]) / N)
    for (let k = 0; k < O; k++) g.b2[k] += dy[k]
    for (let j = 0; j < H; j++) {
      let dz = 0
      for (let k = 0; k < O; k++) {
        g.W2[j * O + k] += z[j] * dy[k]
        dz += dy[k] * p.W2.data[j * O + k]
      }
      const da = dz * (1 - z[j]) * z[j]
      g.b1[j] += da
      for (let i = 0; i < I; i++) g.W1[i * H + j] += xs[n][i] * da
    }
  }
  return g
}

describe('twoLayerNet', () => {
  const config = { inputSize: 3, hiddenSize: 5, outputSize: 3, weightInitStd: 0.5, seed: 3 }
  const net = twoLayerNet(config)

  it('initialises W = std·randn (W1 then W2 from one generator) and b = 0', () => {
    const r = rng(3)
    const W1 = randn([3, 5], r, 0.5)
    const W2 = randn([5, 3], r, 0.5)
    expect([...net.params.W1.data]).toEqual([...W1.data])
    expect([...net.params.W2.data]).toEqual([...W2.data])
    expect(toArray(net.params.b1)).toEqual([0, 0, 0, 0, 0])
    expect(toArray(net.params.b2)).toEqual([0, 0, 0])
    expect(net.config).toEqual({ ...config, loss: 'softmaxCrossEntropy' })
  })

  it('defaults: weightInitStd 0.01, seed 0; the same seed gives the same net', () => {
    const a = twoLayerNet({ inputSize: 4, hiddenSize: 2, outputSize: 2 })
    expect(a.config.weightInitStd).toBe(0.01)
    expect([...a.params.W1.data]).toEqual([...twoLayerNet({ ...a.config }).params.W1.data])
    expect([...a.params.W1.data]).toEqual([...randn([4, 2], rng(0), 0.01).data])
  })

  it('predict gives rows of probabilities; loss is ≈ ln C for tiny weights', () => {
    const y = net.predict(net.params, x)
    expect(y.shape).toEqual([4, 3])
    for (const row of toArray(y) as number[][])
      expect(Math.abs(row.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(4 * Number.EPSILON)
    const tiny = twoLayerNet({ inputSize: 3, hiddenSize: 5, outputSize: 3, weightInitStd: 1e-6 })
    // logits are O(1e-6), so softmax = 1/3 + O(1e-6) and the loss ln 3 + O(1e-6)
    expect(Math.abs(tiny.loss(tiny.params, x, labels) - Math.log(3))).toBeLessThan(1e-5)
  })

  it('loss takes one-hot or labels: fused by default, the book composition as an option', () => {
    const p = net.params
    expect(net.loss(p, x, labels)).toBe(net.loss(p, x, oneHot))
    expect(net.loss(p, x, labels)).toBe(softmaxCrossEntropy(net.logits(p, x), labels))
    const book = twoLayerNet({ ...config, loss: 'crossEntropy' })
    expect(book.loss(p, x, labels)).toBe(crossEntropyError(net.predict(p, x), labels))
    // fused vs δ-form differ by mean(log1p(δ/y_target)) ≤ δ/min y ≈ 1e-7/0.05
    expect(Math.abs(book.loss(p, x, labels) - net.loss(p, x, labels))).toBeLessThan(3e-6)
  })

  it('accuracy is the fraction of rows whose argmax is the target', () => {
    const p = net.params
    const predicted = (toArray(net.predict(p, x)) as number[][]).map((r) =>
      r.indexOf(Math.max(...r)),
    )
    const hits = predicted.filter((c, i) => c === labels[i]).length
    expect(net.accuracy(p, x, labels)).toBe(hits / 4)
    expect(net.accuracy(p, x, oneHot)).toBe(hits / 4)
    expect(net.accuracy(p, x, predicted)).toBe(1)
  })

  it('accuracy scores a large set by blocks of rows, with the numbers of predict', () => {
    // 2,300 mostly-zero rows (as MNIST images): blocks of 1,000, 1,000 and 300 rows, each of
    // which may take another product kernel than the whole set; targets are predict's own
    // argmax on the whole set, so any row scored differently (or misplaced) misses
    const big = twoLayerNet({ inputSize: 300, hiddenSize: 20, outputSize: 10, seed: 3 })
    const r = rng(5)
    const n = 2300
    const xs = randn([n, 300], r)
    for (let i = 0; i < xs.data.length; i++) if (r.uniform() < 0.8) xs.data[i] = 0
    const p = { ...big.params, b1: randn([20], r, 0.5), b2: randn([10], r, 0.5) }
    const y = big.predict(p, xs)
    const best = Array.from({ length: n }, (_, i) => {
      const row = Array.from(y.data.subarray(i * 10, i * 10 + 10))
      return row.indexOf(Math.max(...row))
    })
    expect(big.accuracy(p, xs, best)).toBe(1)
    const off = best.map((c, i) => (i % 7 === 0 ? (c + 1) % 10 : c))
    expect(big.accuracy(p, xs, off)).toBe(1 - Math.ceil(n / 7) / n)
  })

  it('numericalGradient matches backprop and has the params structure', () => {
    const p = net.params
    const book = twoLayerNet({ ...config, loss: 'crossEntropy' })
    const g = book.numericalGradient(p, x, labels)
    expect(Object.keys(g).sort()).toEqual(['W1', 'W2', 'b1', 'b2'])
    expect(g.W1.shape).toEqual([3, 5])
    expect(g.b2.shape).toEqual([3])
    const a = analyticGradient(p, toArray(x) as number[][], oneHot)
    // central differences, h = 1e-4: truncation h²·|f‴|/6 ≲ 1e-8·O(1); rounding ε·|f|/h ≈ 1e-12;
    // the δ = 1e-7 in the loss shifts the gradient by O(δ/y) ≈ 1e-6·|∂y| — bounded by 1e-6
    for (const k of ['W1', 'b1', 'W2', 'b2'] as const)
      g[k].data.forEach((v, i) => expect(Math.abs(v - a[k][i]), `${k}[${i}]`).toBeLessThan(2e-6))
    const gf = net.numericalGradient(p, x, labels) // the default loss: fused
    // without δ only the h² truncation and rounding remain
    for (const k of ['W1', 'b1', 'W2', 'b2'] as const)
      gf[k].data.forEach((v, i) => expect(Math.abs(v - a[k][i]), `${k}[${i}]`).toBeLessThan(1e-8))
  })

  it('is pure: params are never changed', () => {
    const before = [...flatten(net.params)]
    net.numericalGradient(net.params, x, labels)
    net.loss(net.params, x, labels)
    expect([...flatten(net.params)]).toEqual(before)
    expect(sum(net.params.b1)).toBe(0)
  })

  it('rejects bad configurations and inputs', () => {
    expect(() => twoLayerNet({ ...config, hiddenSize: 0 })).toThrow(
      new RangeError('twoLayerNet: hiddenSize: expected a positive integer, got 0'),
    )
    expect(() => twoLayerNet({ ...config, weightInitStd: -1 })).toThrow(
      new RangeError('twoLayerNet: weightInitStd: expected a positive finite number, got -1'),
    )
    expect(() => twoLayerNet({ ...config, loss: 'mse' as never })).toThrow(
      new RangeError(
        'twoLayerNet: loss: expected "crossEntropy" or "softmaxCrossEntropy", got "mse"',
      ),
    )
    expect(() => net.loss(net.params, x, [[0, 1]])).toThrow(
      'softmaxCrossEntropy: t: expected shape [4,3] (one-hot) or [4] (labels) to match y [4,3], got [1,2]',
    )
    expect(() => net.predict(net.params, [[1, 2]])).toThrow(
      'matmul: shapes [1,2] and [3,5] do not align',
    )
  })
})

describe('twoLayerNet.logits of a mostly-zero batch (held in wasm memory on that backend)', () => {
  afterAll(() => setKernelBackend('auto'))
  const EPS = 2 ** -53
  const gamma = (k: number) => (k * EPS) / (1 - k * EPS)

  it('gives the js backend’s numbers bit for bit, and the triple loop’s within rounding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }), // rows
        fc.integer({ min: 40, max: 120 }), // inputs (rows·inputs from 40 to 2,880)
        fc.integer({ min: 1, max: 12 }), // hidden
        fc.integer({ min: 1, max: 6 }), // outputs
        fc.double({ min: 0.05, max: 0.6, noNaN: true }), // share of non-zeros
        fc.integer({ min: 0, max: 2 ** 30 }),
        (n, d, h, k, density, seed) => {
          const r = rng(seed)
          const x = randn([n, d], r)
          for (let i = 0; i < x.data.length; i++) if (r.uniform() >= density) x.data[i] = 0
          const net = twoLayerNet({ inputSize: d, hiddenSize: h, outputSize: k, seed })
          const p = {
            W1: randn([d, h], r, 0.5),
            b1: randn([h], r, 0.5),
            W2: randn([h, k], r, 0.5),
            b2: randn([k], r, 0.5),
          }
          setKernelBackend('wasm')
          const wasm = net.logits(p, x).data
          setKernelBackend('js')
          const js = net.logits(p, x).data
          expect(Array.from(wasm, (v, i) => Object.is(v, js[i])).every(Boolean)).toBe(true)
          // a1 = x·W1 + b1 within γ_d·Σ|x·w| + ε|a1|; σ is ¼-Lipschitz and rounds within 4ε;
          // a2 = z·W2 + b2 within γ_h·Σ|z·w| + Σ|w|·(σ's error) + ε|a2|
          const a1 = reference(x.data, p.W1.data, n, d, h, false, false)
          const z = a1.C.map((v, i) => 1 / (1 + Math.exp(-(v + p.b1.data[i % h]))))
          const zErr = a1.C.map(
            (v, i) =>
              0.25 * (gamma(d) * a1.mag[i] + EPS * Math.abs(v + p.b1.data[i % h])) + 4 * EPS,
          )
          const a2 = reference(z, p.W2.data, n, h, k, false, false)
          for (let i = 0; i < n; i++)
            for (let j = 0; j < k; j++) {
              let prop = 0
              for (let q = 0; q < h; q++) prop += Math.abs(p.W2.data[q * k + j]) * zErr[i * h + q]
              const want = a2.C[i * k + j] + p.b2.data[j]
              const tol = gamma(h) * a2.mag[i * k + j] + prop + 2 * EPS * Math.abs(want)
              expectClose(wasm[i * k + j], want, { atol: tol }, `a2[${i},${j}]`)
            }
        },
      ),
    )
  })
})
