import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  getKernelThreads,
  rng,
  setKernelBackend,
  setKernelThreads,
  twoLayerNet,
  type Tensor,
} from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { helperRunning, threadState } from '../../src/parallel/sharedKernels.js'
import { TAPE_MIN_WORK, tapeStats, tapeTuning } from '../../src/parallel/tapeThreads.js'
import { gatheredFrom, rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { largeProducts } from '../../src/tensor/kernels/gemmKernel.js'

beforeAll(() => {
  setKernelThreads(2)
  // every call on the shared path, however small (setKernelThreads(2) keeps small ones off it)
  tapeTuning.explicitMinWork = 0
})
afterAll(async () => {
  tapeTuning.explicitMinWork = TAPE_MIN_WORK
  setKernelThreads(1)
  await closeWorkers()
  expect(helperRunning()).toBe(false)
})

type Params = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor }
type Result = { loss: number; grad: Params }

/**
 * `f()` on one thread (threads asked for: 1, and the split-products hook off: the single-thread
 * kernels throughout) and then on two.
 */
function oneAndTwo(f: () => Result): [Result, Result] {
  const run = largeProducts.run
  threadState.requested = 1
  largeProducts.run = null
  let one: Result
  try {
    one = f()
  } finally {
    threadState.requested = 2
    largeProducts.run = run
  }
  return [one, f()]
}

function expectSameBits(two: Result, one: Result) {
  if (!Object.is(two.loss, one.loss)) expect.fail(`loss: two threads ${two.loss}, one ${one.loss}`)
  for (const key of ['W1', 'b1', 'W2', 'b2'] as const) {
    const got = two.grad[key]
    const want = one.grad[key]
    expect(got.shape).toEqual(want.shape)
    for (let i = 0; i < want.data.length; i++) {
      if (!Object.is(got.data[i], want.data[i])) {
        expect.fail(`${key}[${i}]: two threads ${got.data[i]}, one thread ${want.data[i]}`)
      }
    }
  }
}

/** An n×d image-like batch: `zeros` of the entries 0, the rest in (0, 1] (pixels). */
function batch(seed: number, n: number, d: number, zeros: number): Tensor {
  const r = rng(seed)
  return {
    shape: [n, d],
    data: Float64Array.from({ length: n * d }, () => (r.uniform() < zeros ? 0 : 1 - r.uniform())),
  }
}

const poisons = ['none', 'W1 NaN', 'W1 ∞', 'W2 ∞'] as const

/** The net's parameters with one weight made non-finite (a diverged step), or as they are. */
function poisoned(p: Params, poison: (typeof poisons)[number], at: number): Params {
  if (poison === 'none') return p
  const key = poison.startsWith('W1') ? 'W1' : 'W2'
  const data = Float64Array.from(p[key].data)
  data[at % data.length] = poison === 'W1 NaN' ? NaN : Infinity
  return { ...p, [key]: { shape: p[key].shape, data } }
}

describe('twoLayerNet.lossAndGradient on two kernel threads', () => {
  it('the helper runs (two threads in Node)', () => {
    expect(getKernelThreads()).toBe(2)
  })

  it('MNIST-sized batches (100×784, 50 hidden, 10 classes): the same bits as one thread', () => {
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 3 })
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 90, max: 110 }),
        fc.constantFrom(0.75, 0.81, 0.9),
        fc.boolean(),
        (seed, n, zeros, oneHot) => {
          const x = batch(seed, n, 784, zeros)
          const r = rng(seed + 1)
          const labels = Array.from({ length: n }, () => r.int(10))
          const t = oneHot
            ? {
                shape: [n, 10],
                data: Float64Array.from({ length: n * 10 }, (_, i) =>
                  labels[Math.floor(i / 10)] === i % 10 ? 1 : 0,
                ),
              }
            : { shape: [n], data: Float64Array.from(labels) }
          const before = tapeStats.steps
          const [one, two] = oneAndTwo(() => net.lossAndGradient(net.params, x, t))
          // the two-thread run took the shared path (and the one-thread run did not)
          expect(tapeStats.steps).toBe(before + 1)
          expectSameBits(two, one)
        },
      ),
    )
  })

  it('batches of compressed rows (randomBatches on images): the bits of the plain rows on one thread', () => {
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 7 })
    const images = batch(11, 400, 784, 0.81) // a dataset of 400 images
    // and as bytes·(1/255), as loadMnist scales them: the row cache keeps those rows packed
    const bytes = { ...images, data: images.data.map((v) => Math.ceil(v * 255) * (1 / 255)) }
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 399 }), { minLength: 2, maxLength: 110 }),
        fc.boolean(),
        (idx, packed) => {
          const n = idx.length
          const data = packed ? bytes : images
          const cache = rowCache(data)!
          const gathered = takeRows(data, idx, 0, n, cache)
          expect(gatheredFrom(gathered)).toBeDefined()
          expect(cache.levels !== null).toBe(packed)
          // the plain rows, copied here
          const plain = { shape: [n, 784], data: new Float64Array(n * 784) }
          idx.forEach((r, i) => plain.data.set(data.data.subarray(r * 784, (r + 1) * 784), i * 784))
          const t = { shape: [n], data: Float64Array.from(idx, (r) => r % 10) }
          const [one] = oneAndTwo(() => net.lossAndGradient(net.params, plain, t))
          const before = tapeStats.steps
          const two = net.lossAndGradient(net.params, gathered, t)
          expect(tapeStats.steps).toBe(before + 1)
          expectSameBits(two, one)
        },
      ),
    )
  })

  it('random shapes around it, dense batches, and non-finite weights: the same bits', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          n: fc.integer({ min: 1, max: 130 }),
          d: fc.integer({ min: 3, max: 800 }),
          h: fc.integer({ min: 1, max: 60 }),
          k: fc.integer({ min: 2, max: 12 }),
          zeros: fc.constantFrom(0, 0.5, 0.81, 0.95, 1),
          poison: fc.constantFrom(...poisons),
          at: fc.nat(),
        }),
        ({ seed, n, d, h, k, zeros, poison, at }) => {
          const net = twoLayerNet({ inputSize: d, hiddenSize: h, outputSize: k, seed })
          const p = poisoned(net.params, poison, at)
          const x = batch(seed, n, d, zeros)
          const r = rng(seed + 1)
          const t = { shape: [n], data: Float64Array.from({ length: n }, () => r.int(k)) }
          const [one, two] = oneAndTwo(() => net.lossAndGradient(p, x, t))
          expectSameBits(two, one)
        },
      ),
    )
  })

  it('a non-finite W1 (NaN) shows in the gradient, as on one thread', () => {
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 5 })
    const p = poisoned(net.params, 'W1 NaN', 0)
    const x = batch(7, 100, 784, 0.81)
    const t = { shape: [100], data: Float64Array.from({ length: 100 }, (_, i) => i % 10) }
    const before = tapeStats.steps
    const [one, two] = oneAndTwo(() => net.lossAndGradient(p, x, t))
    expect(tapeStats.steps).toBe(before + 1)
    expect(Number.isNaN(two.loss)).toBe(true)
    expectSameBits(two, one)
  })

  it('an ∞ in W2 (δ1 non-finite) shows in ∂W1 as on one thread', () => {
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 6 })
    const p = poisoned(net.params, 'W2 ∞', 3)
    const x = batch(8, 100, 784, 0.81)
    const t = { shape: [100], data: Float64Array.from({ length: 100 }, (_, i) => i % 10) }
    const before = tapeStats.steps
    const [one, two] = oneAndTwo(() => net.lossAndGradient(p, x, t))
    expect(tapeStats.steps).toBe(before + 1)
    expectSameBits(two, one)
  })

  it('on the JavaScript backend nothing is shared (and the bits agree)', () => {
    setKernelBackend('js')
    try {
      const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 2 })
      const x = batch(9, 100, 784, 0.81)
      const t = { shape: [100], data: Float64Array.from({ length: 100 }, (_, i) => i % 10) }
      const before = tapeStats.steps
      const [one, two] = oneAndTwo(() => net.lossAndGradient(net.params, x, t))
      expect(tapeStats.steps).toBe(before)
      expectSameBits(two, one)
    } finally {
      setKernelBackend('auto')
    }
  })

  it('after closeWorkers the next step starts the helper again', async () => {
    await closeWorkers()
    expect(helperRunning()).toBe(false)
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 4 })
    const x = batch(10, 100, 784, 0.81)
    const t = { shape: [100], data: Float64Array.from({ length: 100 }, (_, i) => i % 10) }
    const before = tapeStats.steps
    const [one, two] = oneAndTwo(() => net.lossAndGradient(net.params, x, t))
    expect(tapeStats.steps).toBe(before + 1)
    expect(helperRunning()).toBe(true)
    expectSameBits(two, one)
  })
})
