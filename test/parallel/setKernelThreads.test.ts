import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  getKernelThreads,
  matmul,
  setKernelBackend,
  setKernelThreads,
  type Tensor,
} from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { helperRunning, runLarge, tuning } from '../../src/parallel/sharedKernels.js'
import { largeProducts } from '../../src/tensor/kernels/gemmKernel.js'

const saved = { ...tuning }
beforeAll(() => setKernelThreads(2))
afterEach(() => {
  Object.assign(tuning, saved)
  setKernelBackend('auto')
})
afterAll(async () => {
  setKernelThreads(1)
  await closeWorkers()
})

/** Every product split, however small: the hook for all work. */
function forceSplit() {
  tuning.denseMinWork = 0
  tuning.sparseMinWork = 0
  tuning.transposedSparseMinWork = 0
  largeProducts.minWork = 0
}

/** `f()` on one thread (the hook off: the single-thread kernels) and on two. */
function oneAndTwo(f: () => Tensor): [Tensor, Tensor] {
  const run = largeProducts.run
  largeProducts.run = null
  const one = f()
  largeProducts.run = run
  return [one, f()]
}

function expectSameBits(got: Tensor, want: Tensor) {
  expect(got.shape).toEqual(want.shape)
  for (let i = 0; i < want.data.length; i++) {
    if (!Object.is(got.data[i], want.data[i])) {
      expect.fail(`[${i}]: two threads ${got.data[i]}, one thread ${want.data[i]}`)
    }
  }
}

const value = fc.double({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true })
/** A stored matrix of r×c with roughly the given share of zeros (1 = all zero). */
const matrix = (r: number, c: number, zeros: number) =>
  fc
    .array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), value), {
      minLength: r * c,
      maxLength: r * c,
    })
    .map((es) => ({
      shape: [r, c],
      data: Float64Array.from(es, ([u, v]) => (u < zeros ? 0 : v)),
    }))

/** Shapes 1…24 (odd sizes, rows not a multiple of 4, k or n of 1), dense to 95% zeros. */
const product = fc
  .record({
    m: fc.integer({ min: 1, max: 24 }),
    k: fc.integer({ min: 1, max: 24 }),
    n: fc.integer({ min: 1, max: 24 }),
    zeros: fc.constantFrom(0, 0.5, 0.8, 0.95, 1),
    transposeA: fc.boolean(),
    transposeB: fc.boolean(),
  })
  .chain((d) =>
    fc.record({
      d: fc.constant(d),
      a: d.transposeA ? matrix(d.k, d.m, d.zeros) : matrix(d.m, d.k, d.zeros),
      b: d.transposeB ? matrix(d.n, d.k, 0) : matrix(d.k, d.n, 0),
    }),
  )

describe('setKernelThreads', () => {
  it('doc example: two threads in Node, the helper ends with setKernelThreads(1)', () => {
    expect(getKernelThreads()).toBe(2)
    expect(helperRunning()).toBe(true)
    const y = matmul(
      { shape: [5000, 784], data: new Float64Array(5000 * 784) },
      { shape: [784, 50], data: new Float64Array(784 * 50) },
    )
    expect(y.shape).toEqual([5000, 50])
    expect(y.data.every((v) => v === 0)).toBe(true)
    setKernelThreads(1)
    expect(getKernelThreads()).toBe(1)
    expect(helperRunning()).toBe(false)
    expect(largeProducts.run).toBe(null)
    setKernelThreads(2)
    expect(getKernelThreads()).toBe(2)
  })

  it('random shapes and sparsity, all transposes, split on two threads: the one-thread bits', () => {
    fc.assert(
      fc.property(product, ({ d, a, b }) => {
        forceSplit()
        const opts = { transposeA: d.transposeA, transposeB: d.transposeB }
        const [one, two] = oneAndTwo(() => matmul(a, b, opts))
        expectSameBits(two, one)
      }),
    )
  })

  it('agrees with a triple loop written here (to 1e-12·Σ|a·b|: the sums differ by order only)', () => {
    forceSplit()
    const m = 13
    const k = 9
    const n = 7
    const a = {
      shape: [m, k],
      data: Float64Array.from({ length: m * k }, (_, i) => ((i * 7) % 5) - 2),
    }
    const b = {
      shape: [k, n],
      data: Float64Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) / 3),
    }
    const c = matmul(a, b)
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        let mag = 0
        for (let p = 0; p < k; p++) {
          s += a.data[i * k + p] * b.data[p * n + j]
          mag += Math.abs(a.data[i * k + p] * b.data[p * n + j])
        }
        expect(Math.abs(c.data[i * n + j] - s)).toBeLessThanOrEqual(1e-12 * mag)
      }
    }
  })

  it('a sparse left operand times a non-finite B goes dense, NaN and ∞ showing as on one thread', () => {
    forceSplit()
    const a = { shape: [8, 16], data: new Float64Array(128) }
    a.data[5] = 1
    a.data[40] = 2
    const b = { shape: [16, 8], data: Float64Array.from({ length: 128 }, (_, i) => i / 100) }
    b.data[0] = NaN
    b.data[1] = Infinity
    const [one, two] = oneAndTwo(() => matmul(a, b))
    expectSameBits(two, one)
    expect(two.data[0]).toBeNaN() // row 0 is 0·NaN + … + 1·b[5][0]: NaN, as NumPy
  })

  it('MNIST-sized products at the default crossover: W3 step, xᵀ·δ, a 5,000-row chunk', () => {
    const x = { shape: [100, 784], data: new Float64Array(78400) }
    for (let i = 0; i < x.data.length; i += 5) x.data[i] = (i % 255) / 255 // 20% non-zero
    const W1 = {
      shape: [784, 50],
      data: Float64Array.from({ length: 39200 }, (_, i) => Math.sin(i)),
    }
    const d = { shape: [100, 50], data: Float64Array.from({ length: 5000 }, (_, i) => Math.cos(i)) }
    const big = { shape: [5000, 784], data: new Float64Array(5000 * 784) }
    for (let r = 0; r < 50; r++) big.data.set(x.data, r * 78400)
    for (const f of [
      () => matmul(x, W1),
      () => matmul(x, d, { transposeA: true }),
      () => matmul(big, W1), // 3.9M elements: chunked, each chunk split
    ]) {
      const [one, two] = oneAndTwo(f)
      expectSameBits(two, one)
    }
  })

  it('the JavaScript fallback is untouched by the second thread', () => {
    forceSplit()
    setKernelBackend('js')
    const a = { shape: [30, 20], data: Float64Array.from({ length: 600 }, (_, i) => (i % 3) - 1) }
    const b = { shape: [20, 10], data: Float64Array.from({ length: 200 }, (_, i) => i / 7) }
    const [one, two] = oneAndTwo(() => matmul(a, b))
    expectSameBits(two, one)
  })

  it('closeWorkers ends the helper; the next large product starts it again', async () => {
    forceSplit()
    await closeWorkers()
    expect(helperRunning()).toBe(false)
    const a = { shape: [64, 64], data: Float64Array.from({ length: 4096 }, (_, i) => i % 5) }
    const [one, two] = oneAndTwo(() => matmul(a, a))
    expectSameBits(two, one)
    expect(helperRunning()).toBe(true)
  })

  it('runLarge declines products below the crossover (tuning), leaving them to one thread', () => {
    const C = new Float64Array(4)
    const args = [new Float64Array(4), new Float64Array(4), C, 2, 2, 2, false, false] as const
    expect(runLarge(...args, false, 4, true)).toBe(false)
    expect(runLarge(...args, true, 4, true)).toBe(false)
    tuning.denseMinWork = 0
    expect(runLarge(...args, false, 4, true)).toBe(true)
  })

  it('runLarge declines when the helper cannot be had (one thread asked for)', () => {
    setKernelThreads(1)
    const C = new Float64Array(4)
    expect(
      runLarge(new Float64Array(4), new Float64Array(4), C, 2, 2, 2, false, false, false, 4, true),
    ).toBe(false)
    setKernelThreads(2)
  })

  it('rejects anything but 1, 2 or "auto"', () => {
    expect(() => setKernelThreads(4 as 2)).toThrow(
      new TypeError('setKernelThreads: threads: expected 1, 2 or "auto", got 4'),
    )
    expect(() => setKernelThreads('2' as unknown as 2)).toThrow(
      new TypeError('setKernelThreads: threads: expected 1, 2 or "auto", got "2"'),
    )
    expect(getKernelThreads()).toBe(2)
  })

  it('the committed sharedWasmBinary.ts is what gemm.ts compiles to', () => {
    const printed = execFileSync(
      process.execPath,
      ['src/tensor/kernels/assembly/build.mjs', '--print-shared'],
      { encoding: 'utf8' },
    )
    expect(readFileSync('src/parallel/sharedWasmBinary.ts', 'utf8')).toBe(printed)
  })
})
