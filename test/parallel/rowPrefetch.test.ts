import fc from 'fast-check'
import { lastValueFrom, take, toArray } from 'rxjs'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBatches, setKernelThreads, type Tensor } from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { prefetchStats, prefetchTuning, rowPrefetch } from '../../src/parallel/rowPrefetch.js'
import { gatheredFrom, rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'
import { images, lcg, rowsOf, same } from '../helpers/sparseRows.js'
import { expectSameRun, smallW3Run } from '../helpers/smallW3.js'

// A large data set's next batch is gathered and sorted by column on a worker thread while the
// step runs (src/parallel/rowPrefetch.ts); the step copies both CSRs in and unpacks them. That
// must be invisible: the same batches from the sampler, the same bits from every product and
// every training step as when each step gathers its batch itself.

const defaults = { ...prefetchTuning }
beforeEach(() => {
  // small data sets here; every batch waits for the worker, so that the prepared CSRs are read
  Object.assign(prefetchTuning, { minData: 0, minBatch: 0, patient: true })
})
afterEach(() => {
  Object.assign(prefetchTuning, defaults)
})
afterAll(async () => {
  await closeWorkers()
})

/** The three 8-bit level forms a row cache packs (gatheredRows.ts LEVELS). */
const forms = [(k: number) => k * (1 / 255), (k: number) => k / 255, (k: number) => k]

/** A data set of 8-bit images: rows × cols, each entry a level with probability `density`. */
const imageSets = fc
  .record({
    rows: fc.integer({ min: 2, max: 60 }),
    cols: fc.integer({ min: 64, max: 300 }),
    density: fc.constantFrom(0.05, 0.15, 0.25),
    form: fc.nat({ max: 2 }),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  })
  .map(({ rows, cols, density, form, seed }) => {
    const next = lcg(seed)
    const level = forms[form]
    const data = new Float64Array(rows * cols)
    for (let i = 0; i < data.length; i++) {
      if (next() + 0.5 < density) data[i] = level(1 + Math.floor((next() + 0.5) * 255))
    }
    return { shape: [rows, cols], data } as Tensor
  })

/** x·W as the sparse kernel sums it: each entry from +0 over the row's non-zeros in column order. */
function orderedTimes(x: Float64Array, rows: number, d: number, W: Float64Array, n: number) {
  const out = new Float64Array(rows * n)
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < d; p++) if (x[i * d + p] !== 0) s += x[i * d + p] * W[p * n + j]
      out[i * n + j] = s
    }
  }
  return out
}

/** xᵀ·D the same way: entry (p, j) over the rows whose entry p is non-zero, in row order. */
function orderedTransposeTimes(
  x: Float64Array,
  rows: number,
  d: number,
  D: Float64Array,
  n: number,
) {
  const out = new Float64Array(d * n)
  for (let p = 0; p < d; p++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let i = 0; i < rows; i++) if (x[i * d + p] !== 0) s += x[i * d + p] * D[i * n + j]
      out[p * n + j] = s
    }
  }
  return out
}

describe('batches prepared on the worker thread', () => {
  it('give x·W and xᵀ·D of the plain rows bit for bit (and the ordered loop’s)', () => {
    const used0 = prefetchStats.used
    let held = 0
    fc.assert(
      fc.property(
        imageSets.chain((x) =>
          fc.tuple(
            fc.constant(x),
            fc.array(fc.array(fc.nat({ max: x.shape[0] - 1 }), { minLength: 1, maxLength: 40 }), {
              minLength: 1,
              maxLength: 5,
            }),
          ),
        ),
        fc.integer({ min: 4, max: 20 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        ([x, batches], n, seed) => {
          const next = lcg(seed)
          const d = x.shape[1]
          const W = Float64Array.from({ length: d * n }, next)
          const cache = rowCache(x)!
          expect(rowPrefetch(cache, 40)).not.toBeNull()
          for (const idx of batches) {
            const b = takeRows(x, idx, 0, idx.length, cache)
            const rows = idx.length
            const plain = rowsOf(x, idx)
            const D = Float64Array.from({ length: rows * n }, next)
            const h = heldLeft(b)
            try {
              if (h.held() !== null) held++
              const xw = h.times({ shape: [d, n], data: W }).data
              const xtd = h.transposeTimes({ shape: [rows, n], data: D }).data
              const px: Tensor = { shape: [rows, d], data: plain }
              expect(same(xw, matmul(px, { shape: [d, n], data: W }).data)).toBe(true)
              expect(same(xw, orderedTimes(plain, rows, d, W, n))).toBe(true)
              const pd: Tensor = { shape: [rows, n], data: D }
              expect(same(xtd, matmul(px, pd, { transposeA: true }).data)).toBe(true)
              expect(same(xtd, orderedTransposeTimes(plain, rows, d, D, n))).toBe(true)
            } finally {
              h.release()
            }
            expect(same(b.data, plain)).toBe(true)
            if (gatheredFrom(b) !== undefined) expect(gatheredFrom(b)!.pick.length).toBe(rows)
          }
        },
      ),
      { numRuns: 60 },
    )
    // the prepared CSRs were read, in most held batches
    expect(held).toBeGreaterThan(20)
    expect(prefetchStats.used - used0).toBeGreaterThan(held / 2)
  })

  const data = images(7, 3000)

  /** W3's training loop at test size on `data` (test/helpers/smallW3.ts). */
  const run = (steps: number, during?: (step: number) => void) => smallW3Run(data, steps, during)

  async function withoutPrefetch<R>(f: () => Promise<R>): Promise<R> {
    prefetchTuning.enabled = false
    try {
      return await f()
    } finally {
      prefetchTuning.enabled = true
    }
  }

  it('train the same steps bit for bit, reading the prepared batches', async () => {
    const want = await withoutPrefetch(() => run(60))
    const used0 = prefetchStats.used
    const got = await run(60)
    expectSameRun(got, want)
    expect(prefetchStats.used - used0).toBeGreaterThanOrEqual(50)
  })

  it('draw the same batches, in the same order, with the same positions', async () => {
    const plain = await withoutPrefetch(() =>
      lastValueFrom(randomBatches(data, { batchSize: 60, seed: 5 }).pipe(take(25), toArray())),
    )
    const ahead = await lastValueFrom(
      randomBatches(data, { batchSize: 60, seed: 5 }).pipe(take(25), toArray()),
    )
    expect(gatheredFrom(ahead[3].x)).toBeDefined()
    ahead.forEach((b, i) => {
      expect(b.position).toEqual(plain[i].position)
      expect(same(b.x.data, plain[i].x.data)).toBe(true)
      expect(same(b.t.data, plain[i].t.data)).toBe(true)
    })
    // resumed from a checkpoint: the batch after it
    const [resumed] = randomBatches(data, { batchSize: 60, seed: 5, from: ahead[9].position })
    expect(same(resumed.x.data, plain[10].x.data)).toBe(true)
  })

  it('stay right when closeWorkers ends the worker mid-run, and in a second run after it', async () => {
    const want = await withoutPrefetch(() => run(50))
    const closed = await run(50, (step) => {
      if (step === 20) void closeWorkers()
    })
    expectSameRun(closed, want)
    const used0 = prefetchStats.used
    expectSameRun(await run(50), want) // a new worker
    expect(prefetchStats.used - used0).toBeGreaterThanOrEqual(40)
  })

  it('stay right when a run is unsubscribed early and another runs', async () => {
    const want = await withoutPrefetch(() => run(30))
    await run(3)
    expectSameRun(await run(30), want)
  })

  it('are staged with every CSR on 16 bytes, as the step copies them (by words, not bytes)', () => {
    // a copy out of shared memory goes by 8-byte words only where source and destination agree
    // modulo 8; linear memory's CSRs start on 16 bytes
    for (const rows of [1, 2, 3, 7, 40]) {
      const x = images(rows + 3, 200).x
      const cache = rowCache(x)!
      expect(rowPrefetch(cache, rows)).not.toBeNull()
      for (let b = 0; b < 3; b++) {
        const idx = Array.from({ length: rows }, (_, i) => (i * 7 + b) % 200)
        const staged = gatheredFrom(takeRows(x, idx, 0, rows, cache))!.staged!()
        expect(staged).not.toBeNull()
        const { words, rp, ci, trp, tci } = staged!
        for (const at of [rp, ci, trp, tci]) expect((words.byteOffset + 4 * at) % 16).toBe(0)
      }
    }
  })

  it('are not prepared on one kernel thread, for small data, or off wasm', () => {
    const x = images(1, 200).x
    setKernelThreads(1)
    try {
      expect(rowPrefetch(rowCache(x)!, 50)).toBeNull()
    } finally {
      setKernelThreads('auto')
    }
    Object.assign(prefetchTuning, defaults) // 200 × 784 numbers: below minData
    expect(rowPrefetch(rowCache(x)!, 50)).toBeNull()
  })
})
