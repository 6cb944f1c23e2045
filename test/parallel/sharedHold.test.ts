// A left operand held in the memory the two threads share (sharedKernels.ts's sharedHold: what
// `holdLeft` / `holdGathered` give while two threads are asked for): its products split C's rows
// with the helper. Against the textbook triple loop (test/helpers/referenceGemm.ts) with the
// error bound of a sum of k rounded products, and against the one-thread held product bit for
// bit (each row of C is the same kernel's sum in the same order); a non-finite right operand
// goes dense as on one thread; products laid out between a hold's products keep it intact; and
// a differentiated step on two threads keeps the batch's compressed rows (no dense copy).
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { ad, setKernelThreads, valueAndGrad, type Tensor, type Var } from 'gradstream'
import {
  gemmHeld,
  gemmKernel,
  holdGathered,
  holdLeft,
  largeProducts,
  releaseHeld,
} from '../../src/tensor/kernels/gemmKernel.js'
import { gatheredFrom, RowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { helperRunning, runLarge, sharedHold, tuning } from '../../src/parallel/sharedKernels.js'
import { expectMatches, filled, reference } from '../helpers/referenceGemm.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'

let threads = false
beforeAll(() => {
  setKernelThreads(2)
  // where worker threads cannot start the holds below are one thread's (then checked as such)
  threads = helperRunning()
})
restoreAfterEach(tuning)
closeThreadsAfterAll()

/** A held operand's shape, a right operand's width (padded 32·j and not) and the transposes. */
const problem = fc.record({
  rows: fc.integer({ min: 8, max: 160 }),
  cols: fc.integer({ min: 32, max: 90 }),
  n: fc.oneof(fc.constantFrom(32, 64, 128, 256), fc.integer({ min: 4, max: 45 })),
  transA: fc.boolean(),
  transB: fc.boolean(),
  seed: fc.integer(),
})

/** `X` (rows×cols) held, `op(X)·op(B)` by gemmHeld, and the same on one thread. */
function heldProduct(
  X: Float64Array,
  hold: () => ReturnType<typeof holdLeft>,
  d: { rows: number; cols: number; n: number; transA: boolean; transB: boolean },
  B: Float64Array,
) {
  const m = d.transA ? d.cols : d.rows
  const C = new Float64Array(m * d.n).fill(NaN) // every slot must be written
  const h = hold()
  expect(h).not.toBeNull()
  expect(h!.split !== undefined).toBe(threads)
  try {
    gemmHeld(h!, () => X, B, C, d.n, d.transA, d.transB)
  } finally {
    releaseHeld(h!)
  }
  // one thread: the private memory's hold
  const run = largeProducts.run
  const hold2 = largeProducts.hold
  largeProducts.run = null
  largeProducts.hold = null
  const one = new Float64Array(m * d.n)
  try {
    const h1 = holdLeft(X, d.rows, d.cols)!
    expect(h1.split).toBeUndefined()
    gemmHeld(h1, () => X, B, one, d.n, d.transA, d.transB)
    releaseHeld(h1)
  } finally {
    largeProducts.run = run
    largeProducts.hold = hold2
  }
  return { C, one }
}

describe('a held operand in the shared memory', () => {
  it('A·op(B) and Aᵀ·op(B) equal the reference and the one-thread bits, C’s rows split', () => {
    tuning.sparseMinWork = 0 // every product splits
    fc.assert(
      fc.property(problem, (d) => {
        const X = filled(d.rows * d.cols, 0.15, d.seed) // ≥ 256 entries, ~15% non-zero: held
        const m = d.transA ? d.cols : d.rows
        const k = d.transA ? d.rows : d.cols
        const B = filled(k * d.n, 1, d.seed ^ 0x2545f491)
        const { C, one } = heldProduct(X, () => holdLeft(X, d.rows, d.cols), d, B)
        expectMatches(C, reference(X, B, m, k, d.n, d.transA, d.transB), k)
        expect(C).toEqual(one)
      }),
      { numRuns: 40 },
    )
  })

  it('holds a batch of compressed rows (gathered, no dense copy) with the same results', () => {
    tuning.sparseMinWork = 0
    fc.assert(
      fc.property(problem, fc.integer({ min: 0, max: 7 }), (d, extra) => {
        // the data set has `extra` rows more than the batch draws, drawn in reverse
        const data = filled((d.rows + extra) * d.cols, 0.15, d.seed)
        const pick = Int32Array.from({ length: d.rows }, (_, i) => d.rows + extra - 1 - i)
        const cache = new RowCache(data, d.rows + extra, d.cols)
        const x = takeRows({ shape: [d.rows + extra, d.cols], data }, pick, 0, d.rows, cache)
        const X = Float64Array.from({ length: d.rows * d.cols }, (_, q) => {
          const i = Math.floor(q / d.cols)
          return data[pick[i] * d.cols + (q % d.cols)]
        })
        const m = d.transA ? d.cols : d.rows
        const k = d.transA ? d.rows : d.cols
        const B = filled(k * d.n, 1, d.seed ^ 0x2545f491)
        const g = gatheredFrom(x)!
        const { C, one } = heldProduct(X, () => holdGathered(g), d, B)
        expectMatches(C, reference(X, B, m, k, d.n, d.transA, d.transB), k)
        expect(C).toEqual(one)
      }),
      { numRuns: 30 },
    )
  })

  it('holds an unread batch (rows never compressed: epochBatches’ first draws) the same way', () => {
    tuning.sparseMinWork = 0
    fc.assert(
      fc.property(problem, (d) => {
        const data = filled(d.rows * d.cols, 0.15, d.seed)
        const pick = Int32Array.from({ length: d.rows }, (_, i) => d.rows - 1 - i)
        const cache = new RowCache(data, d.rows, d.cols, true)
        const x = takeRows({ shape: [d.rows, d.cols], data }, pick, 0, d.rows, cache)
        const X = Float64Array.from({ length: d.rows * d.cols }, (_, q) => {
          const i = Math.floor(q / d.cols)
          return data[pick[i] * d.cols + (q % d.cols)]
        })
        const m = d.transA ? d.cols : d.rows
        const k = d.transA ? d.rows : d.cols
        const B = filled(k * d.n, 1, d.seed ^ 0x2545f491)
        const g = gatheredFrom(x)!
        expect(g.unread).toBe(true)
        const { C, one } = heldProduct(X, () => holdGathered(g), d, B)
        // two threads find the rows in the cache first (their hold gathers compressed rows)
        expect(g.unread).toBe(!threads)
        expectMatches(C, reference(X, B, m, k, d.n, d.transA, d.transB), k)
        expect(C).toEqual(one)
      }),
      { numRuns: 20 },
    )
  })

  it('sends a right operand holding ±∞ or NaN to the dense kernel, as on one thread', () => {
    tuning.sparseMinWork = 0
    const [rows, cols, n] = [40, 64, 32]
    const X = filled(rows * cols, 0.15, 7)
    for (const bad of [Infinity, -Infinity, NaN]) {
      const B = filled(cols * n, 1, 8)
      B[5 * n + 3] = bad
      const C = new Float64Array(rows * n)
      const h = holdLeft(X, rows, cols)!
      try {
        gemmHeld(h, () => X, B, C, n, false, false)
      } finally {
        releaseHeld(h)
      }
      const dense = new Float64Array(rows * n)
      gemmKernel(X, B, dense, rows, cols, n, false, false, 'never')
      // the dense sum: 0·∞ = NaN in column 3 of every row
      expect(Array.from(C, (v, q) => Object.is(v, dense[q]))).not.toContain(false)
      expect(Number.isNaN(C[3])).toBe(true)
    }
  })

  it('keeps the held operand intact under products laid out between its products', () => {
    tuning.sparseMinWork = 0
    tuning.denseMinWork = 0
    const [rows, cols, n] = [100, 80, 36]
    const X = filled(rows * cols, 0.15, 3)
    const h = holdLeft(X, rows, cols)!
    try {
      const B = filled(cols * n, 1, 4)
      const C1 = new Float64Array(rows * n)
      gemmHeld(h, () => X, B, C1, n, false, false)
      // a large dense product on the two threads, laid out above the hold
      const P = filled(64 * 300, 1, 5)
      const Q = filled(300 * 40, 1, 6)
      const PQ = new Float64Array(64 * 40)
      if (!runLarge(P, Q, PQ, 64, 300, 40, false, false, false, 0, false)) {
        gemmKernel(P, Q, PQ, 64, 300, 40, false, false)
      }
      expectMatches(PQ, reference(P, Q, 64, 300, 40, false, false), 300)
      const D = filled(rows * n, 1, 9)
      const C2 = new Float64Array(cols * n)
      gemmHeld(h, () => X, D, C2, n, true, false)
      expectMatches(C1, reference(X, B, rows, cols, n, false, false), cols)
      expectMatches(C2, reference(X, D, cols, rows, n, true, false), rows)
    } finally {
      releaseHeld(h)
    }
    // released: the next hold starts from the beginning again
    const h2 = holdLeft(X, rows, cols)!
    expect(h2.rp).toBe(h.rp)
    releaseHeld(h2)
  })

  it('holds one operand at a time (a second hold is one thread’s)', () => {
    const X = filled(50 * 64, 0.15, 1)
    const a = sharedHold.dense(X, 50, 64, 50 * 64)
    if (!threads) return expect(a).toBeNull()
    expect(a).not.toBeNull()
    expect(sharedHold.dense(X, 50, 64, 50 * 64)).toBeNull()
    const b = holdLeft(X, 50, 64)! // falls back to the private memory
    expect(b.split).toBeUndefined()
    releaseHeld(b)
    releaseHeld(a!)
  })
})

describe('a differentiated step on two threads', () => {
  it('multiplies the batch’s compressed rows (never its dense rows), with one thread’s bits', () => {
    const [m, k, n] = [128, 784, 64]
    const data = filled((m + 3) * k, 0.2, 11)
    let reads = 0
    const source = {
      shape: [m + 3, k],
      get data() {
        reads++
        return data
      },
    }
    const pick = Int32Array.from({ length: m }, (_, i) => i + 3)
    const x = takeRows(source, pick, 0, m, new RowCache(data, m + 3, k))
    const fill = (len: number, seed: number) => filled(len, 1, seed).map((v) => v / 1000)
    const p = { W: { shape: [k, n], data: fill(k * n, 12) }, b: { shape: [n], data: fill(n, 13) } }
    const f = (q: { W: Var; b: Var }, batch: Tensor) => ad.sum(ad.affine(batch, q.W, q.b, 'relu'))
    reads = 0
    const two = valueAndGrad(f)(p, x)
    expect(reads).toBe(0)
    setKernelThreads(1)
    try {
      const one = valueAndGrad(f)(p, x)
      expect(two.value).toBe(one.value)
      expect(two.grad.W.data).toEqual(one.grad.W.data)
      expect(two.grad.b.data).toEqual(one.grad.b.data)
    } finally {
      setKernelThreads(2)
    }
  })
})
