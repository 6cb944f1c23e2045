// The packed dense kernel (gemm.ts's packB / packA / gemmPacked, used by gemmDenseWasm and the
// two-thread split for large and transposed products) against the textbook triple loop, on every
// path: stored and transposed A and B, packed and unpacked A, rows and columns past the 4×4 blocks,
// more rows than one block of MC = 64 and more of op(B)'s rows than one block of KC = 256 (where a
// block continues from the partial sums it stored in C), and split across two threads. Also the
// sparse kernel (gemmCsr) past one pass of CSR_ROWS = 128 rows, every group of columns, and a held
// sparse operand times a right operand laid out with padded rows (gemmCsrLd).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { setKernelThreads } from 'gradstream'
import { gemmHeld, gemmKernel, holdLeft, releaseHeld } from '../../src/tensor/kernels/gemmKernel.js'
import {
  gemmDenseWasm,
  gemmSparseWasm,
  packing,
  packsA,
  packsB,
  paddedStride,
} from '../../src/tensor/kernels/wasmKernels.js'
import { runLarge, tuning } from '../../src/parallel/sharedKernels.js'
import { expectMatches, filled, reference } from '../helpers/referenceGemm.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'

restoreAfterEach(packing, tuning)
closeThreadsAfterAll()

/** Every product with n ≥ 4 goes through the packed kernel, A packed whenever transposed. */
function packEverything() {
  packing.minKn = 0
  packing.minKnTransB = 0
  packing.minMkTransA = 0
  packing.minM = 0
  packing.minN = 0
}

const shapes = (maxM: number, maxK: number, maxN: number) =>
  fc
    .record({
      m: fc.integer({ min: 1, max: maxM }),
      k: fc.integer({ min: 1, max: maxK }),
      n: fc.integer({ min: 4, max: maxN }),
      transA: fc.boolean(),
      transB: fc.boolean(),
      density: fc.constantFrom(0.5, 1),
      seed: fc.integer(),
    })
    .map((d) => ({
      ...d,
      A: filled(d.m * d.k, d.density, d.seed),
      B: filled(d.k * d.n, 1, d.seed ^ 0x5bd1e995),
    }))

type Problem = {
  m: number
  k: number
  n: number
  transA: boolean
  transB: boolean
  A: Float64Array
  B: Float64Array
}

function check(p: Problem, run: (C: Float64Array) => void) {
  const C = new Float64Array(p.m * p.n).fill(NaN) // every slot must be written
  run(C)
  expectMatches(C, reference(p.A, p.B, p.m, p.k, p.n, p.transA, p.transB), p.k)
}

describe('the packed dense kernel equals the reference triple loop', () => {
  it('takes the packed path for every shape here once the knobs are 0', () => {
    packEverything()
    expect(packsB(1, 1, 4, false, false)).toBe(true)
    expect(packsA(4, 1, true)).toBe(true)
    expect(packsA(4, 1, false)).toBe(false)
  })

  it('small shapes: edge rows and columns, one 4×4 block or none', () => {
    packEverything()
    fc.assert(
      fc.property(shapes(13, 13, 13), (p) =>
        check(p, (C) => gemmDenseWasm(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB)),
      ),
    )
  })

  it('past one block of rows (MC = 64) and of op(B)’s rows (KC = 256)', () => {
    packEverything()
    fc.assert(
      fc.property(shapes(140, 600, 40), (p) =>
        check(p, (C) => gemmDenseWasm(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB)),
      ),
      { numRuns: 25 },
    )
  })

  it('gives the plain kernel’s bits (the same sums in the same order)', () => {
    fc.assert(
      fc.property(shapes(70, 300, 40), (p) => {
        Object.assign(packing, { minKn: Infinity, minKnTransB: Infinity, minMkTransA: Infinity })
        const plain = new Float64Array(p.m * p.n)
        gemmDenseWasm(p.A, p.B, plain, p.m, p.k, p.n, p.transA, p.transB)
        packEverything()
        const packed = new Float64Array(p.m * p.n)
        gemmDenseWasm(p.A, p.B, packed, p.m, p.k, p.n, p.transA, p.transB)
        for (let q = 0; q < plain.length; q++) {
          if (!Object.is(packed[q], plain[q])) expect.fail(`[${q}]: ${packed[q]} vs ${plain[q]}`)
        }
      }),
      { numRuns: 25 },
    )
  })

  it('the default knobs pack the large and transposed products of W5 and W6', () => {
    expect(packsB(256, 1024, 1024, false, false)).toBe(true) // W6 h1·W2
    expect(packsB(128, 128, 256, false, true)).toBe(true) // W5 δ2·W2ᵀ
    expect(packsB(256, 128, 128, true, false) && packsA(256, 128, true)).toBe(true) // W5 h1ᵀ·δ2
    expect(packsB(128, 256, 128, false, false)).toBe(false) // W5 h1·W2: B in L2, plain is faster
    expect(packsB(128, 128, 10, true, false)).toBe(false) // an output layer's 10 columns
  })

  it('through gemmKernel with the default knobs, on a product large enough to pack', () => {
    const m = 72 // m·k ≥ 2¹⁵: a transposed A is packed too
    const k = 520
    const n = 260
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const p = { m, k, n, transA, transB, A: filled(m * k, 1, 11), B: filled(k * n, 1, 12) }
      expect(packsB(m, k, n, transA, transB)).toBe(true)
      expect(packsA(m, k, transA)).toBe(transA)
      check(p, (C) => gemmKernel(p.A, p.B, C, m, k, n, transA, transB, 'never'))
    }
  })
})

describe('the packed kernel split across two threads', () => {
  it('equals the reference with C’s rows split between the caller and the helper', () => {
    setKernelThreads(2)
    packEverything()
    tuning.denseMinWork = 0
    fc.assert(
      fc.property(shapes(140, 600, 40), (p) =>
        check(p, (C) => {
          const ran = runLarge(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB, false, 0, false)
          // no helper (a platform without worker threads) leaves the product to one thread
          if (!ran) gemmDenseWasm(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB)
        }),
      ),
      { numRuns: 20 },
    )
  })
})

describe('the sparse kernel in passes of 128 rows', () => {
  it('equals the reference past one pass, for every width of column group (14, 8, 2, 1)', () => {
    fc.assert(
      fc.property(
        fc.record({
          m: fc.integer({ min: 120, max: 300 }),
          k: fc.integer({ min: 1, max: 60 }),
          n: fc.integer({ min: 1, max: 40 }),
          transA: fc.boolean(),
          transB: fc.boolean(),
          seed: fc.integer(),
        }),
        (d) => {
          const p = {
            ...d,
            A: filled(d.m * d.k, 0.2, d.seed),
            B: filled(d.k * d.n, 1, d.seed ^ 0x5bd1e995),
          }
          check(p, (C) => {
            // maxNnz = every entry: the sparse kernel always runs
            const ok = gemmSparseWasm(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB, p.m * p.k)
            expect(ok).toBe(true)
          })
        },
      ),
      { numRuns: 30 },
    )
  })
})

describe('a held sparse operand times a right operand with padded rows', () => {
  it('pads the rows of 32·j columns only', () => {
    expect(paddedStride(256)).toBe(260)
    expect(paddedStride(32)).toBe(36)
    expect(paddedStride(50)).toBe(50)
    expect(paddedStride(16)).toBe(16)
  })

  // on one thread (this module's own memory: placePadded's moves in wasm, Aᵀ·B over column
  // pairs) and on two (held in the shared memory, placed row by row)
  it.each([1, 2] as const)(
    'A·op(B) and Aᵀ·op(B) equal the reference for n = 32, 64, …, 256 (%i threads)',
    (threads) => {
      setKernelThreads(threads)
      fc.assert(
        fc.property(
          fc.record({
            rows: fc.integer({ min: 8, max: 140 }),
            cols: fc.integer({ min: 32, max: 60 }),
            n: fc.constantFrom(32, 64, 96, 128, 256),
            transA: fc.boolean(),
            transB: fc.boolean(),
            seed: fc.integer(),
          }),
          (d) => {
            const X = filled(d.rows * d.cols, 0.1, d.seed) // ≥ 256 entries, ~10% non-zero: held
            // A·op(B): m = rows, k = cols; Aᵀ·op(B): m = cols, k = rows
            const m = d.transA ? d.cols : d.rows
            const k = d.transA ? d.rows : d.cols
            const p = { m, k, n: d.n, transA: d.transA, transB: d.transB, A: X }
            const B = filled(k * d.n, 1, d.seed ^ 0x2545f491)
            const h = holdLeft(X, d.rows, d.cols)
            expect(h).not.toBeNull()
            try {
              check({ ...p, B }, (C) => gemmHeld(h!, () => X, B, C, d.n, d.transA, d.transB))
            } finally {
              releaseHeld(h!)
            }
          },
        ),
        { numRuns: 40 },
      )
    },
  )
})
