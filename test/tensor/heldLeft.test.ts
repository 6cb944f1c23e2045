import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { setKernelBackend, type Tensor } from 'gradstream'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'

/** op(A)·B by the textbook triple loop, summing over p in order (written anew here). */
function naive(a: Tensor, b: Tensor, transA: boolean): { c: Float64Array; mag: Float64Array } {
  const [r, s] = a.shape
  const m = transA ? s : r
  const k = transA ? r : s
  const n = b.shape[1]
  const c = new Float64Array(m * n)
  const mag = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0
      let abs = 0
      for (let p = 0; p < k; p++) {
        const x = transA ? a.data[p * s + i] : a.data[i * s + p]
        sum += x * b.data[p * n + j]
        abs += Math.abs(x * b.data[p * n + j])
      }
      c[i * n + j] = sum
      mag[i * n + j] = abs
    }
  return { c, mag }
}

// Each product sums the same terms in the same order as the triple loop; skipping zero terms
// can only change the sign of a zero, so 1e-12·Σ|a·b| (far above k·ε for k ≤ 120) is loose.
function expectProduct(got: Tensor, a: Tensor, b: Tensor, transA: boolean): void {
  const { c, mag } = naive(a, b, transA)
  const off: number[] = [] // entries outside the bound (expected: none)
  for (let q = 0; q < c.length; q++) {
    if (!(Math.abs(got.data[q] - c[q]) <= 1e-12 * mag[q])) off.push(q)
  }
  expect(off).toEqual([])
}

/** An m×k matrix with about `density` non-zeros, from fast-check's draws. */
const sparseMatrix = fc
  .record({
    m: fc.integer({ min: 1, max: 24 }),
    k: fc.integer({ min: 1, max: 120 }),
    n: fc.integer({ min: 1, max: 24 }),
    density: fc.constantFrom(0.05, 0.2, 0.9),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ m, k, n, density, seed }) => {
    // a small LCG from the drawn seed fills the matrices (no Math.random)
    let s = seed
    const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const fill = (len: number, d: number) =>
      Float64Array.from({ length: len }, () => (next() < d ? next() * 2 - 1 : 0))
    const a: Tensor = { shape: [m, k], data: fill(m * k, density) }
    const w: Tensor = { shape: [k, n], data: fill(k * n, 1) }
    const d: Tensor = { shape: [m, n], data: fill(m * n, 1) }
    return { a, w, d }
  })

describe('heldLeft (x·W1 and xᵀ·δ1 on one compressed copy of x)', () => {
  afterAll(() => setKernelBackend('auto'))
  for (const backend of ['wasm', 'js'] as const) {
    it(`${backend}: both products equal matmul bit for bit and the triple loop, with other products in between`, () => {
      setKernelBackend(backend)
      fc.assert(
        // transpose false: held for forward products, its columns compressed at the first aᵀ·b
        fc.property(sparseMatrix, fc.boolean(), ({ a, w, d }, transpose) => {
          const copy = Float64Array.from(a.data)
          const held = heldLeft(a, transpose)
          try {
            const y = held.times(w)
            // products run while a is held must not disturb it (nor be disturbed)
            const mid = matmul(d, w, { transposeB: true })
            const g = held.transposeTimes(d)
            expect(Array.from(y.data)).toEqual(Array.from(matmul(a, w).data))
            expect(Array.from(g.data)).toEqual(Array.from(matmul(a, d, { transposeA: true }).data))
            expect(y.shape).toEqual([a.shape[0], w.shape[1]])
            expect(g.shape).toEqual([a.shape[1], d.shape[1]])
            expectProduct(y, a, w, false)
            expectProduct(g, a, d, true)
            expect(mid.shape).toEqual([a.shape[0], a.shape[1]])
          } finally {
            held.release()
          }
          expect(Array.from(a.data)).toEqual(Array.from(copy))
        }),
      )
    })
  }

  it('after release, and for a second hold, products are still right; misaligned shapes throw matmul’s error', () => {
    setKernelBackend('wasm')
    const a: Tensor = { shape: [20, 30], data: new Float64Array(600) }
    for (let q = 0; q < 600; q += 7) a.data[q] = q / 100
    const w: Tensor = {
      shape: [30, 8],
      data: Float64Array.from({ length: 240 }, (_, q) => q - 100),
    }
    const first = heldLeft(a)
    const second = heldLeft(a) // one hold at a time: this one multiplies plainly
    expectProduct(second.times(w), a, w, false)
    first.release()
    expectProduct(first.times(w), a, w, false)
    second.release()
    const again = heldLeft(a)
    expectProduct(again.times(w), a, w, false)
    expect(() => again.times({ shape: [29, 8], data: new Float64Array(232) })).toThrow(
      'matmul: shapes [20,30] and [29,8] do not align',
    )
    again.release()
  })

  for (const backend of ['wasm', 'js'] as const) {
    it(`${backend}: products into a caller's buffer equal the fresh ones and return that buffer`, () => {
      setKernelBackend(backend)
      fc.assert(
        fc.property(sparseMatrix, ({ a, w, d }) => {
          const held = heldLeft(a)
          try {
            const into = new Float64Array(a.shape[0] * w.shape[1]).fill(NaN)
            const y = held.times(w, into)
            expect(y.data).toBe(into)
            expect(y.shape).toEqual([a.shape[0], w.shape[1]])
            expect(Array.from(into)).toEqual(Array.from(matmul(a, w).data))
            // the buffer is overwritten, not added to: a second product into it gives the same
            const intoT = new Float64Array(a.shape[1] * d.shape[1]).fill(7)
            held.transposeTimes(d, intoT)
            expect(Array.from(intoT)).toEqual(Array.from(matmul(a, d, { transposeA: true }).data))
            held.transposeTimes(d, intoT)
            expect(Array.from(intoT)).toEqual(Array.from(matmul(a, d, { transposeA: true }).data))
          } finally {
            held.release()
          }
        }),
        { numRuns: 50 },
      )
      const held = heldLeft({ shape: [2, 3], data: new Float64Array(6) })
      expect(() =>
        held.times({ shape: [3, 4], data: new Float64Array(12) }, new Float64Array(7)),
      ).toThrow('matmul: out: expected 8 elements ([2,4]), got 7')
      held.release()
    })
  }

  // the wasm path copies a left operand into memory ~64 KB of rows at a time and compresses each
  // block as it goes: shapes whose rows span many blocks, with an uneven last one
  it('operands spanning many copy blocks (an MNIST batch, wide rows) equal the triple loop', () => {
    setKernelBackend('wasm')
    for (const [m, k, n] of [
      [100, 784, 50],
      [37, 3000, 5],
      [9, 9000, 4],
    ]) {
      let s = m * 7919 + k
      const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
      const a: Tensor = {
        shape: [m, k],
        data: Float64Array.from({ length: m * k }, () => (next() < 0.19 ? next() : 0)),
      }
      const w: Tensor = {
        shape: [k, n],
        data: Float64Array.from({ length: k * n }, () => next() - 0.5),
      }
      const d: Tensor = {
        shape: [m, n],
        data: Float64Array.from({ length: m * n }, () => next() - 0.5),
      }
      expectProduct(matmul(a, w), a, w, false)
      expectProduct(matmul(a, d, { transposeA: true }), a, d, true)
      const held = heldLeft(a)
      try {
        expectProduct(held.times(w), a, w, false)
        expectProduct(held.transposeTimes(d), a, d, true)
      } finally {
        held.release()
      }
    }
  })
})
