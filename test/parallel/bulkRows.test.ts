import fc from 'fast-check'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Tensor } from 'gradstream'
import { prefetchTuning, rowPrefetch } from '../../src/parallel/rowPrefetch.js'
import {
  bulkStats,
  gatheredFrom,
  keepBytes,
  keepLabels,
  rowCache,
  takeRows,
  type RowCache,
} from '../../src/tensor/gatheredRows.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'
import type { Levels } from '../../src/tensor/kernels/wasmKernels.js'
import { lcg, rowsOf, same } from '../helpers/sparseRows.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'
import { expectSameRun, smallW3Run } from '../helpers/smallW3.js'

// A row cache whose batches the worker prepares, over rows kept as bytes in shared memory
// (loadMnist's images), has the worker compress its rows ahead from the bytes (gatheredRows.ts
// BulkRows); a batch takes the rows it finds done there instead of compressing them. Nothing of
// it may show: each drawn row's entries as a cache without it finds them, the products' bits, a
// training run's bits.

restoreAfterEach(prefetchTuning)
beforeEach(() => {
  Object.assign(prefetchTuning, { minData: 0, minBatch: 0, patient: true })
})
closeThreadsAfterAll()

/** loadMnist's byte·(1/255) (normalize) and the byte itself; byte / 255 as another cache packs. */
const FORMS: readonly Levels[] = [
  { mul: 1 / 255, div: 1 },
  { mul: 1, div: 1 },
  { mul: 1, div: 255 },
]

/**
 * rows × cols bytes about `density` non-zero (in strokes or not), at `offset` in a
 * SharedArrayBuffer (an offset off a word: the worker's byte loop, else its word loop), and the
 * numbers they stand for in a level form, kept with them (keepBytes).
 */
const sharedImages = fc
  .record({
    rows: fc.integer({ min: 1, max: 400 }),
    cols: fc.integer({ min: 64, max: 200 }),
    density: fc.constantFrom(0.05, 0.19, 0.28),
    runs: fc.boolean(),
    offset: fc.constantFrom(0, 4, 16, 1, 3),
    form: fc.nat({ max: 2 }),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ rows, cols, density, runs, offset, form, seed }) => {
    const next = lcg(seed)
    const bytes = new Uint8Array(
      new SharedArrayBuffer(offset + rows * cols + 5),
      offset,
      rows * cols,
    )
    let on = false
    for (let q = 0; q < bytes.length; q++) {
      on = runs ? (next() + 0.5 < 0.8 ? on : next() + 0.5 < density) : next() + 0.5 < density
      bytes[q] = on ? 1 + Math.floor((next() + 0.5) * 255) : 0
    }
    const levels = FORMS[form]
    const data = Float64Array.from(bytes, (b) => (b * levels.mul) / levels.div)
    keepBytes(data, bytes, levels)
    return { x: { shape: [rows, cols], data } as Tensor, bytes, levels }
  })

/** Waits until `cache`'s bulk compression has done every row or stopped (10 s at most). */
function awaitBulk(cache: RowCache): void {
  const b = cache.bulk
  if (b === null) return
  const t0 = performance.now()
  const tick = new Int32Array(new SharedArrayBuffer(4))
  while (
    Atomics.load(b.at, 2 * b.rows) < b.rows &&
    Atomics.load(b.at, 2 * b.rows + 1) === 0 &&
    performance.now() - t0 < 10_000
  )
    Atomics.wait(tick, 0, 0, 1)
}

/** Row r's entries in a cache that has found it. */
const entries = (c: RowCache, r: number) =>
  Array.from(c.packed.subarray(c.rowAt[2 * r], c.rowAt[2 * r] + c.rowAt[2 * r + 1]))

describe('rows compressed ahead on the worker (bulk)', () => {
  it('give every drawn row the entries a cache finds itself, and the products’ bits', () => {
    const taken0 = bulkStats.rows
    let bulked = 0
    let bulkedFirst = 0
    fc.assert(
      fc.property(
        sharedImages.chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.array(
              fc.record({
                idx: fc.array(fc.nat({ max: s.x.shape[0] - 1 }), { minLength: 1, maxLength: 30 }),
                wait: fc.boolean(),
              }),
              { minLength: 1, maxLength: 6 },
            ),
          ),
        ),
        fc.integer({ min: 0, max: 2 ** 30 }),
        ([{ x, levels }, batches], seed) => {
          const next = lcg(seed)
          const d = x.shape[1]
          const n = 5
          const W = Float64Array.from({ length: d * n }, next)
          // the reference: the same numbers, not kept as bytes, no worker
          const plainX: Tensor = { shape: x.shape, data: Float64Array.from(x.data) }
          const plain = rowCache(plainX)!
          const cache = rowCache(x)!
          expect(rowPrefetch(cache, 30)).not.toBeNull()
          for (const [i, { idx, wait }] of batches.entries()) {
            const b = takeRows(x, idx, 0, idx.length, cache)
            takeRows(plainX, idx, 0, idx.length, plain)
            if (cache.bulk !== null) bulked++
            // only at the bytes' own levels (byte k is level k), and until the cache's room grows
            if (cache.bulk !== null) expect(cache.levels).toEqual(levels)
            if (i === 0 && cache.bulk !== null) bulkedFirst++
            expect(cache.dense).toBe(plain.dense)
            if (!cache.dense)
              for (const r of idx) expect(entries(cache, r)).toEqual(entries(plain, r))
            const h = heldLeft(b)
            try {
              const xw = h.times({ shape: [d, n], data: W }).data
              const px: Tensor = { shape: [idx.length, d], data: rowsOf(x, idx) }
              expect(same(xw, matmul(px, { shape: [d, n], data: W }).data)).toBe(true)
              const D = Float64Array.from({ length: idx.length * n }, next)
              const xtd = h.transposeTimes({ shape: [idx.length, n], data: D }).data
              const want = matmul(px, { shape: [idx.length, n], data: D }, { transposeA: true })
              expect(same(xtd, want.data)).toBe(true)
            } finally {
              h.release()
            }
            expect(same(b.data, rowsOf(x, idx))).toBe(true)
            expect(gatheredFrom(b)?.pick.length ?? idx.length).toBe(idx.length)
            if (wait) awaitBulk(cache)
          }
        },
      ),
      { numRuns: 80 },
    )
    expect(bulkedFirst).toBeGreaterThan(20)
    expect(bulked).toBeGreaterThan(60)
    // rows were taken from the worker's, not only found by the step
    expect(bulkStats.rows - taken0).toBeGreaterThan(500)
  })

  /** 3,000 images of bytes·(1/255) in shared memory (as loadMnist keeps them), one-hot targets. */
  function sharedSet(seed: number, kept: boolean) {
    const n = 3000
    const cols = 784
    const next = lcg(seed)
    const bytes = new Uint8Array(new SharedArrayBuffer(16 + n * cols), 16)
    for (let q = 0; q < bytes.length; q++)
      bytes[q] = next() < -0.31 ? 1 + Math.floor((next() + 0.5) * 255) : 0
    const labels = Uint8Array.from({ length: n }, () => Math.floor((next() + 0.5) * 10))
    const x = Float64Array.from(bytes, (b) => b * (1 / 255))
    const t = Float64Array.from({ length: n * 10 }, (_, q) =>
      labels[Math.floor(q / 10)] === q % 10 ? 1 : 0,
    )
    if (kept) {
      keepBytes(x, bytes, { mul: 1 / 255, div: 1 })
      keepLabels(t, labels)
    }
    return { x: { shape: [n, cols], data: x }, t: { shape: [n, 10], data: t } }
  }

  /** W3's loop at test size (test/helpers/smallW3.ts), the worker preparing batches or not. */
  async function run(data: ReturnType<typeof sharedSet>, steps: number, prefetch: boolean) {
    prefetchTuning.enabled = prefetch
    try {
      return await smallW3Run(data, steps)
    } finally {
      prefetchTuning.enabled = true
    }
  }

  it('train the same steps bit for bit as without the worker, and as numbers not kept', async () => {
    const want = await run(sharedSet(5, false), 80, false)
    const taken0 = bulkStats.rows
    const got = await run(sharedSet(5, true), 80, true)
    expect(bulkStats.rows - taken0).toBeGreaterThan(100)
    expectSameRun(got, want)
  })
})
