// A step on the memory the two threads share (sharedKernels.ts's onSharedMemory): wasmKernels.ts
// runs its kernels over that memory, and the row kernels split C's rows with the helper where the
// operands lie, in chunks either thread takes (one source for both, so a chunk is right whichever
// takes it). Products there against the textbook triple loop (test/helpers/referenceGemm.ts)
// with the error bound of a sum of k rounded products, and against one thread bit for bit (each
// row is the same kernel's sum in the same order); a differentiated step keeps its intermediates
// in the shared memory and gives one thread's bits, also when calls alternate between the counts.
import fc from 'fast-check'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ad, setKernelThreads, valueAndGrad, type Tensor, type Var } from 'gradstream'
import {
  gemmHeld,
  gemmKernel,
  holdLeft,
  largeProducts,
  releaseHeld,
} from '../../src/tensor/kernels/gemmKernel.js'
import { packing, pairing, pairStats } from '../../src/tensor/kernels/wasmKernels.js'
import {
  helperRunning,
  onSharedMemory,
  spawnHelper,
  splitStats,
  splitTuning,
  startHelper,
  stopHelper,
  threadState,
  wantedHelper,
} from '../../src/parallel/sharedKernels.js'
import { tapeStats } from '../../src/parallel/tapeThreads.js'
import { expectMatches, filled, reference } from '../helpers/referenceGemm.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'

let threads = false
beforeAll(() => {
  setKernelThreads('auto') // no product hooks: gemmKernel's one-thread path is the baseline
  // where worker threads cannot start, onSharedMemory runs nothing (checked as such)
  threads = startHelper()
})
restoreAfterEach(splitTuning, packing, pairing)
afterEach(() => {
  threadState.requested = 'auto'
})
closeThreadsAfterAll()

/** On the shared memory; fails the test where the helper could not start. */
function shared<R>(fn: () => R): R {
  const done = onSharedMemory(fn)
  expect(done).not.toBeNull()
  return done!.result
}

/** Shapes from 8 rows (the smallest dense split) and densities from sparse to dense. */
const problem = fc.record({
  m: fc.integer({ min: 8, max: 70 }),
  k: fc.integer({ min: 1, max: 70 }),
  n: fc.integer({ min: 4, max: 70 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  density: fc.constantFrom(0.1, 0.25, 1),
  packed: fc.boolean(),
  chunks: fc.integer({ min: 2, max: 16 }),
  seed: fc.integer(),
})

describe('products on the shared memory', () => {
  it('match the triple loop and one thread bit for bit, split or not', () => {
    if (!threads) return expect(onSharedMemory(() => 1)).toBeNull()
    fc.assert(
      fc.property(problem, (d) => {
        const { m, k, n, transA, transB } = d
        // every product splits (chunks of 4 dense rows and up); half the time dense ones pack
        Object.assign(splitTuning, {
          denseMinWork: 0,
          sparseMinWork: 0,
          denseChunkRows: 4,
          chunks: d.chunks,
        })
        if (d.packed) Object.assign(packing, { minKn: 0, minKnTransB: 0, minMkTransA: 0 })
        const A = filled(m * k, d.density, d.seed)
        const B = filled(k * n, 1, d.seed ^ 0x5bd1e995)
        const one = new Float64Array(m * n).fill(NaN)
        gemmKernel(A, B, one, m, k, n, transA, transB)
        const two = new Float64Array(m * n).fill(NaN) // every slot must be written
        shared(() => gemmKernel(A, B, two, m, k, n, transA, transB))
        expectMatches(two, reference(A, B, m, k, n, transA, transB), k)
        expect(two).toEqual(one)
      }),
    )
  })

  it('split a held operand’s products at half the work, with one thread’s bits', () => {
    if (!threads) return
    const before = splitStats.products
    fc.assert(
      fc.property(problem, (d) => {
        const { m, k, n, transA } = d
        Object.assign(splitTuning, { denseMinWork: 0, sparseMinWork: 0, chunks: d.chunks })
        // X (m×k) is held when sparse; C = X·B (m×n) or Xᵀ·B (k×n)
        const X = filled(m * k, d.density === 1 ? 0.2 : d.density, d.seed)
        const [M, K] = transA ? [k, m] : [m, k]
        const B = filled(K * n, 1, d.seed ^ 0x5bd1e995)
        const product = () => {
          const C = new Float64Array(M * n).fill(NaN) // every slot must be written
          const h = holdLeft(X, m, k)
          if (h === null) gemmKernel(X, B, C, M, K, n, transA, false)
          else {
            gemmHeld(h, () => X, B, C, n, transA, false)
            releaseHeld(h)
          }
          return C
        }
        const one = product()
        const two = shared(product)
        expectMatches(two, reference(X, B, M, K, n, transA, false), K)
        expect(two).toEqual(one)
      }),
    )
    expect(splitStats.products).toBeGreaterThan(before) // the helper really took rows
  })

  it('split a held operand’s Aᵀ·B over column pairs at even rows, with the ordered loop’s bits', () => {
    if (!threads) return
    const before = { pairs: pairStats.products, split: splitStats.products }
    let held = 0
    fc.assert(
      fc.property(
        fc
          .record({
            m: fc.integer({ min: 8, max: 64 }),
            // odd k: the last column alone in its pair (and the last chunk's odd row)
            k: fc.integer({ min: 8, max: 71 }),
            n: fc.oneof(fc.integer({ min: 4, max: 40 }), fc.constantFrom(32, 64)),
            density: fc.constantFrom(0.05, 0.15, 0.2),
            chunks: fc.integer({ min: 2, max: 16 }),
            seed: fc.integer(),
          })
          // multiplied in wasm, as held (at least 4,096 multiply-adds: gemmKernel.ts)
          .filter(({ m, k, n }) => m * k * n >= 4096),
        ({ m, k, n, density, chunks, seed }) => {
          Object.assign(splitTuning, { sparseMinWork: 0, chunks })
          pairing.minColumns = 0 // every width walks the pairs
          // X (m×k, a batch of images) held; C = Xᵀ·B (k×n) walks X's columns two by two
          const X = filled(m * k, density, seed)
          const B = filled(m * n, 1, seed ^ 0x5bd1e995)
          const C = new Float64Array(k * n).fill(NaN) // every slot must be written
          const walked = pairStats.products
          const ok = shared(() => {
            const h = holdLeft(X, m, k)
            if (h === null) return false
            try {
              gemmHeld(h, () => X, B, C, n, true, false)
            } finally {
              releaseHeld(h)
            }
            return true
          })
          // holdLeft's sample of the entries may find X too dense to hold, rarely
          fc.pre(ok)
          held++
          expect(pairStats.products - walked).toBe(1)
          // each entry sums the same non-zero terms in the ordered loop's order (a pair's 0·b for
          // the row without an entry adds ±0 to a sum that is never −0, B finite): its bits
          expect(C).toEqual(reference(X, B, k, m, n, true, false).C)
        },
      ),
    )
    expect(held).toBeGreaterThan(0)
    expect(pairStats.products).toBeGreaterThan(before.pairs)
    expect(splitStats.products).toBeGreaterThan(before.split) // the helper really took rows
  })
})

describe('a helper started for a step of known size', () => {
  it('starts with the shared memory grown to it (written, kernels warmed), then splits with one thread’s bits', () => {
    if (!threads) return
    stopHelper()
    // the warm-up's made-up operands lie where products lay theirs out: none may show
    spawnHelper(20 << 20)
    threads = startHelper()
    expect(threads).toBe(true)
    expect(wantedHelper()!.memory.buffer.byteLength).toBeGreaterThanOrEqual(65536 + (20 << 20))
    fc.assert(
      fc.property(problem, (d) => {
        const { m, k, n, transA, transB } = d
        Object.assign(splitTuning, { denseMinWork: 0, sparseMinWork: 0, chunks: d.chunks })
        const A = filled(m * k, d.density, d.seed)
        const B = filled(k * n, 1, d.seed ^ 0x5bd1e995)
        const one = new Float64Array(m * n).fill(NaN)
        gemmKernel(A, B, one, m, k, n, transA, transB)
        const two = new Float64Array(m * n).fill(NaN) // every slot must be written
        shared(() => gemmKernel(A, B, two, m, k, n, transA, transB))
        expectMatches(two, reference(A, B, m, k, n, transA, transB), k)
        expect(two).toEqual(one)
      }),
      { numRuns: 20 },
    )
  })

  it('writes at most 64 MB however large the kernels’ own memory grew', () => {
    if (!threads) return
    stopHelper()
    spawnHelper(1 << 30) // own memory grown by a product far larger than a step's
    threads = startHelper()
    expect(threads).toBe(true)
    expect(wantedHelper()!.memory.buffer.byteLength).toBeLessThanOrEqual(65536 + (64 << 20))
  })
})
