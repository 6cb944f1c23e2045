import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setKernelBackend, type Tensor } from 'gradstream'
import { heldLeft } from '../../src/tensor/linalg.js'
import { pairing, pairStats } from '../../src/tensor/kernels/wasmKernels.js'
import { transposeTimes } from '../helpers/referenceGemm.js'

/** Indices where `got` and `want` differ (Object.is: NaN equals NaN, +0 differs from −0). */
const differing = (got: Float64Array, want: Float64Array): number[] =>
  Array.from(want.keys()).filter((q) => !Object.is(got[q], want[q]))

const special = fc.constantFrom(Number.NaN, Infinity, -Infinity, -0)

/**
 * A held left operand as a batch of images is held: m rows (the batch) × k columns (the pixels,
 * whose CSR merged two by two is what gemmCsrPairs walks), about `density` non-zero so that it is
 * held (sparse enough), columns in runs that are on or off together (strokes) or not, with odd
 * and even k, all-zero and all-non-zero columns, and a few NaN, ±∞ or −0 entries.
 */
const operand = fc
  .record({
    m: fc.integer({ min: 1, max: 40 }),
    k: fc.integer({ min: 8, max: 70 }),
    // 32 and 64: B's rows placed padded (paddedStride), as W5's 256
    n: fc.oneof(fc.integer({ min: 4, max: 24 }), fc.constantFrom(32, 64)),
    density: fc.constantFrom(0.05, 0.15, 0.25),
    runs: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
    zeroCol: fc.nat(),
    fullCol: fc.option(fc.nat(), { nil: undefined }),
    specials: fc.array(fc.tuple(fc.nat(), special), { maxLength: 3 }),
  })
  // held (m·k ≥ 256) and multiplied in wasm (at least 4,096 multiply-adds: gemmKernel.ts)
  .filter(({ m, k, n }) => m * k >= 256 && m * k * n >= 4096)
  .map(({ m, k, n, density, runs, seed, zeroCol, fullCol, specials }) => {
    let s = seed
    const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const a = new Float64Array(m * k)
    for (let i = 0; i < m; i++) {
      let on = false
      for (let p = 0; p < k; p++) {
        // in runs: a pixel is on where its left neighbour is, most of the time
        on = runs ? (next() < 0.8 ? on : next() < density) : next() < density
        a[i * k + p] = on ? next() * 2 - 1 : 0
      }
    }
    for (let i = 0; i < m; i++) a[i * k + (zeroCol % k)] = 0
    if (fullCol !== undefined && m <= 0.25 * k) {
      for (let i = 0; i < m; i++) a[i * k + (fullCol % k)] = 0.5 + i
    }
    for (const [q, v] of specials) a[q % (m * k)] = v
    let t = seed ^ 0x5bd1e995
    const nextB = () => (t = (t * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const b = Float64Array.from({ length: m * n }, () => (nextB() < 0.6 ? nextB() * 4 - 2 : 0))
    const nonZeros = a.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0)
    return {
      a: { shape: [m, k], data: a } as Tensor,
      b: { shape: [m, n], data: b } as Tensor,
      share: nonZeros / (m * k),
    }
  })
  // sparse enough to be held (holdLeft samples for at most 30% non-zeros), with room to spare
  .filter(({ share }) => share <= 0.22)

describe('held products Aᵀ·B over column pairs (gemmCsrPairs)', () => {
  const { minColumns } = pairing
  // every width through the pairs (by default only wide products walk them)
  beforeAll(() => void (pairing.minColumns = 0))
  afterAll(() => {
    pairing.minColumns = minColumns
    setKernelBackend('auto')
  })

  it('equal the ordered triple loop bit for bit, walking the pairs, with A·W between', () => {
    setKernelBackend('wasm')
    let walked = 0
    fc.assert(
      fc.property(operand, ({ a, b }) => {
        const held = heldLeft(a)
        // holdLeft's sample of ≤ 256 entries may see a 22% operand as too dense, rarely
        fc.pre(held.held() !== null)
        walked++
        try {
          const before = pairStats.products
          // a product of the held rows first (the tape's x·W1), then two of its columns
          held.times({ shape: [a.shape[1], 3], data: new Float64Array(a.shape[1] * 3).fill(1) })
          const g = held.transposeTimes(b)
          const again = held.transposeTimes(b) // the pairs made once, read twice
          // held, so both Aᵀ·B walked the pairs: the path is exercised
          expect(pairStats.products - before).toBe(2)
          expect(differing(g.data, transposeTimes(a, b))).toEqual([])
          expect(differing(again.data, g.data)).toEqual([])
        } finally {
          held.release()
        }
      }),
    )
    expect(walked).toBeGreaterThan(0)
  })

  it('a non-finite B goes dense, with the NaN the dense sum makes of 0·∞', () => {
    setKernelBackend('wasm')
    fc.assert(
      fc.property(operand, fc.nat(), special, ({ a, b }, q, v) => {
        fc.pre(!Object.is(v, -0))
        const bad = Float64Array.from(b.data)
        bad[q % bad.length] = v
        const B = { shape: b.shape, data: bad }
        const held = heldLeft(a)
        try {
          const before = pairStats.products
          const g = held.transposeTimes(B)
          expect(pairStats.products).toBe(before)
          expect(differing(g.data, transposeTimes(a, B))).toEqual([])
        } finally {
          held.release()
        }
      }),
    )
  })

  it('an odd number of columns: the last column alone in its pair', () => {
    setKernelBackend('wasm')
    // 64 rows × 9 columns, column 8 (alone in the last pair) the only non-zero one in row 0
    const m = 64
    const k = 9
    const a = new Float64Array(m * k)
    a[8] = 3
    for (let i = 1; i < m; i++) a[i * k + (i % k)] = i
    const b = Float64Array.from({ length: m * 8 }, (_, q) => (q % 7) - 3)
    const A = { shape: [m, k], data: a }
    const B = { shape: [m, 8], data: b }
    const held = heldLeft(A)
    try {
      const before = pairStats.products
      const g = held.transposeTimes(B)
      expect(pairStats.products - before).toBe(1)
      expect(differing(g.data, transposeTimes(A, B))).toEqual([])
    } finally {
      held.release()
    }
  })

  it('by default only products at least pairing.minColumns wide walk the pairs, same bits', () => {
    setKernelBackend('wasm')
    pairing.minColumns = minColumns
    try {
      fc.assert(
        fc.property(operand, fc.boolean(), ({ a }, wide) => {
          // B as wide as the threshold, or one column narrower
          const [m] = a.shape
          const n = wide ? minColumns : minColumns - 1
          const b = Float64Array.from({ length: m * n }, (_, q) => ((q * 7) % 11) / 4 - 1)
          const B = { shape: [m, n], data: b }
          const held = heldLeft(a)
          fc.pre(held.held() !== null)
          try {
            const before = pairStats.products
            const g = held.transposeTimes(B)
            expect(pairStats.products - before).toBe(wide ? 1 : 0)
            expect(differing(g.data, transposeTimes(a, B))).toEqual([])
          } finally {
            held.release()
          }
        }),
      )
    } finally {
      pairing.minColumns = 0
    }
  })
})
