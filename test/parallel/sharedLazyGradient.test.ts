import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ad, gemm, setKernelThreads, valueAndGrad, type Tensor, type Var } from 'gradstream'
import { lazyGradients } from '../../src/autodiff/lazyGradient.js'
import { rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { lazyDataOf } from '../../src/tensor/lazyData.js'
import { tapeStats, tapeTuning } from '../../src/parallel/tapeThreads.js'
import { splitTuning } from '../../src/parallel/sharedKernels.js'
import { transposeTimes } from '../helpers/referenceGemm.js'
import { images } from '../helpers/sparseRows.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'

// A call on two threads (its arena in the memory shared with the helper) leaves ∂W = xᵀ·δ of a
// parameter W, x a batch drawn as compressed rows, lazy where the held product wrote it, as one
// thread leaves it in its own memory (src/autodiff/lazyGradient.ts): the switch back to the
// kernels' own memory after the call does not overwrite the shared one, a layout there (the next
// two-thread call, a product split under setKernelThreads(2)) does. Read before such a layout its
// numbers are copied from there, after it recomputed from the rows; either way they must be the
// textbook loop's bits (the kernels sum the same non-zero terms in the same order, and a skipped
// 0·δ would only add ±0 to a sum that starts at +0 and is never −0).

restoreAfterEach(tapeTuning, splitTuning)
closeThreadsAfterAll()

const differing = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return [-1]
  const out: number[] = []
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i)
  return out
}

const fill = (seed: number, len: number) => {
  let s = seed
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  return Float64Array.from({ length: len }, () => (next() < 0.2 ? 0 : next() * 4 - 2))
}

describe('∂W left lazy in the memory two threads share', () => {
  const sets = [images(1, 240), images(2, 240)]

  it('is copied from there until a layout there, then recomputed: the loop’s bits either way', () => {
    setKernelThreads(2)
    // every call on the shared memory however small; products split from the smallest
    tapeTuning.explicitMinWork = 0
    splitTuning.denseMinWork = 0
    splitTuning.sparseMinWork = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.array(fc.integer({ min: 0, max: 239 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 4, max: 60 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.constantFrom('call', 'product', 'none'),
        (which, pick, n, seed, between) => {
          const data = sets[which]
          const cache = rowCache(data.x)!
          const batch = () => takeRows(data.x, pick, 0, pick.length, cache)
          const m = pick.length
          const C = { shape: [m, n], data: fill(seed, m * n) }
          const W = { shape: [784, n], data: fill(seed + 2, 784 * n) }
          const b = { shape: [n], data: fill(seed + 3, n) }
          const want = transposeTimes({ shape: [m, 784], data: batch().data }, C)
          const one = valueAndGrad((p: { W: Var; b: Var }, xb: Tensor) =>
            ad.sum(ad.mul(ad.affine(xb, p.W, p.b), C)),
          )
          one({ W, b }, batch()) // the first call plans the arena
          const steps = tapeStats.steps
          const before = { ...lazyGradients }
          const g = one({ W, b }, batch()).grad.W
          expect(tapeStats.steps - steps).toBe(1) // on the shared memory
          expect(lazyDataOf(g)).toBeDefined()
          expect(lazyGradients.made - before.made).toBe(1)
          if (between === 'call') one({ W, b }, batch())
          if (between === 'product') {
            // a product split with the helper lays its operands out in the shared memory
            // (128·96·128 multiply-adds: over the crossover, sharedKernels.ts `tuning`)
            const A = fill(seed + 4, 128 * 96)
            const B = fill(seed + 5, 96 * 128)
            gemm(A, B, new Float64Array(128 * 128), 128, 96, 128)
          }
          expect(differing(g.data, want)).toEqual([])
          const copied = between === 'none' ? 1 : 0
          expect(lazyGradients.copied - before.copied).toBe(copied)
          expect(lazyGradients.recomputed - before.recomputed).toBe(1 - copied)
        },
      ),
      { numRuns: 30 },
    )
  })
})
