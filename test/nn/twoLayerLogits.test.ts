import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { randn, rng, setKernelBackend, twoLayerNet, type Tensor } from 'gradstream'

// On the wasm backend, logits / predict / accuracy of many rows (a data set) run 256 rows at a
// time on scratch in wasm memory with the weights copied in once (twoLayerLogitsWasm). A row's
// logits depend on that row alone and the kernels are the step's, so the numbers must be, bit
// for bit, those of the js backend's one pass over all rows (matmul, σ, matmul, add chained
// over the whole set; that backend's numbers are in turn checked against the triple loop in
// twoLayerNet.test.ts).

/** m×d rows: `zeros` of them 0 on average, the rest 8-bit levels (images) or normals. */
function rows(m: number, d: number, zeros: number, levels: boolean, seed: number): Tensor {
  const r = rng(seed)
  const data = new Float64Array(m * d)
  for (let i = 0; i < data.length; i++) {
    if (r.uniform() < zeros) continue
    data[i] = levels ? (1 + r.int(255)) * (1 / 255) : r.normal()
  }
  return { shape: [m, d], data }
}

const sameBits = (a: Float64Array, b: Float64Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

/** What each backend gives for the same call. */
function onBoth<R>(f: () => R): { wasm: R; js: R } {
  setKernelBackend('wasm')
  const wasm = f()
  setKernelBackend('js')
  const js = f()
  setKernelBackend('auto')
  return { wasm, js }
}

describe('twoLayerNet on many rows (blocks of rows in wasm memory)', () => {
  afterAll(() => setKernelBackend('auto'))

  it('logits and predict equal the js backend’s bit for bit (sizes, sparse or dense rows)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 900 }), // rows: one block, several, a partial last one
        fc.integer({ min: 40, max: 120 }), // inputs
        fc.integer({ min: 1, max: 20 }), // hidden
        fc.integer({ min: 1, max: 12 }), // outputs
        fc.constantFrom(0, 0.5, 0.81, 0.95), // share of zeros (0, 0.5: too dense for the path)
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (m, d, h, k, zeros, levels, seed) => {
          const net = twoLayerNet({ inputSize: d, hiddenSize: h, outputSize: k, seed })
          const r = rng(seed + 1)
          const p = { ...net.params, b1: randn([h], r, 0.5), b2: randn([k], r, 0.5) }
          const x = rows(m, d, zeros, levels, seed + 2)
          const logits = onBoth(() => net.logits(p, x))
          expect(logits.wasm.shape).toEqual([m, k])
          expect(sameBits(logits.wasm.data, logits.js.data)).toBe(true)
          const predict = onBoth(() => net.predict(p, x))
          expect(sameBits(predict.wasm.data, predict.js.data)).toBe(true)
        },
      ),
      { numRuns: 25 },
    )
  })

  it('a dense block after sparse ones, and a NaN weight, give the js backend’s numbers', () => {
    const net = twoLayerNet({ inputSize: 64, hiddenSize: 8, outputSize: 3, seed: 4 })
    // rows 600…699 dense: the blocked path gives up at its third block
    const x = rows(900, 64, 0.9, true, 5)
    const dense = rows(100, 64, 0, false, 6)
    x.data.set(dense.data, 600 * 64)
    const a = onBoth(() => net.logits(net.params, x))
    expect(sameBits(a.wasm.data, a.js.data)).toBe(true)
    const W1 = { shape: net.params.W1.shape, data: net.params.W1.data.slice() }
    W1.data[7] = NaN
    const q = { ...net.params, W1 }
    const sparse = rows(700, 64, 0.9, true, 7)
    const b = onBoth(() => net.logits(q, sparse))
    expect(b.wasm.data.some(Number.isNaN)).toBe(true)
    expect(sameBits(b.wasm.data, b.js.data)).toBe(true)
  })

  it('accuracy on an MNIST-shaped set scores as the js backend, for labels and one-hot rows', () => {
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 2 })
    const r = rng(3)
    const p = { ...net.params, W1: randn([784, 50], r, 0.1), b2: randn([10], r, 0.5) }
    const x = rows(1300, 784, 0.81, true, 4)
    const y = onBoth(() => net.predict(p, x))
    expect(sameBits(y.wasm.data, y.js.data)).toBe(true)
    // targets: the js backend's own argmax, every third row moved to another class
    const labels = Array.from({ length: 1300 }, (_, i) => {
      const row = Array.from(y.js.data.subarray(i * 10, i * 10 + 10))
      const best = row.indexOf(Math.max(...row))
      return i % 3 === 0 ? (best + 1) % 10 : best
    })
    const oneHot: Tensor = { shape: [1300, 10], data: new Float64Array(13000) }
    labels.forEach((l, i) => (oneHot.data[i * 10 + l] = 1))
    const want = (1300 - Math.ceil(1300 / 3)) / 1300 // as accuracy divides: hits / rows
    expect(onBoth(() => net.accuracy(p, x, labels))).toEqual({ wasm: want, js: want })
    expect(onBoth(() => net.accuracy(p, x, oneHot))).toEqual({ wasm: want, js: want })
  })

  it('keeps each result: a later call does not change an earlier one', () => {
    setKernelBackend('wasm')
    const net = twoLayerNet({ inputSize: 50, hiddenSize: 6, outputSize: 2, seed: 1 })
    const first = net.logits(net.params, rows(600, 50, 0.8, true, 8))
    const copy = first.data.slice()
    net.logits(net.params, rows(600, 50, 0.8, true, 9))
    expect(sameBits(first.data, copy)).toBe(true)
  })
})
