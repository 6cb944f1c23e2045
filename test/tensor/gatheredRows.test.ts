import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  epochBatches,
  randomBatches,
  setKernelBackend,
  twoLayerGradient,
  type Tensor,
} from 'gradstream'
import { gatheredFrom, rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'

// A batch drawn through a RowCache is a lazy tensor: its dense rows are built when `data` is
// first read, while heldLeft / twoLayerGradient gather its compressed rows straight into wasm
// memory. Both must be invisible: the same numbers as the rows copied plainly, the same bits
// from every product and gradient as on the plain copy.

/** Non-zero entries as images and worse have them: values, subnormals, ±∞, NaN. */
const nonZero = fc.oneof(
  { arbitrary: fc.double({ min: -1, max: 1, noNaN: true }).filter((v) => v !== 0), weight: 8 },
  { arbitrary: fc.constantFrom(5e-324, -2.5e-310, 1 / 255), weight: 1 },
  { arbitrary: fc.constantFrom(Infinity, -Infinity, NaN), weight: 1 },
)

/**
 * A dataset (rows × cols, cols ≥ 64 so a cache is made): each entry zero (one in ten of them
 * −0) with the drawn probability, so that some batches are sparse enough for the sparse
 * kernels (≤ 30% non-zero) and some are not.
 */
const dataset = fc
  .record({
    rows: fc.integer({ min: 1, max: 40 }),
    cols: fc.integer({ min: 64, max: 130 }),
    zeros: fc.constantFrom(0.5, 0.8, 0.95),
  })
  .chain(({ rows, cols, zeros }) =>
    fc
      .array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), nonZero), {
        minLength: rows * cols,
        maxLength: rows * cols,
      })
      .map((es) => {
        const data = Float64Array.from(es, ([u, v]) => (u < zeros ? (u < zeros / 10 ? -0 : 0) : v))
        return { shape: [rows, cols], data } as Tensor
      }),
  )

/** Draws of row indices (with repeats) and the slice of them a batch takes. */
const draws = (rows: number) =>
  fc
    .array(fc.nat({ max: rows - 1 }), { minLength: 1, maxLength: 30 })
    .chain((idx) =>
      fc
        .tuple(fc.nat({ max: idx.length - 1 }), fc.nat({ max: idx.length - 1 }))
        .map(([a, b]) => ({ idx, start: Math.min(a, b), end: Math.max(a, b) + 1 })),
    )

/** Numbers in [−0.5, 0.5) from a small LCG on a drawn seed (no Math.random). */
function lcg(seed: number): () => number {
  let s = seed
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5
}

/** A dataset and one batch's draws from it. */
const drawn = dataset.chain((x) => fc.tuple(fc.constant(x), draws(x.shape[0])))

/** The rows `idx[start..end)` of x, copied here entry by entry (the reference). */
function rowsOf(x: Tensor, idx: number[], start: number, end: number): Float64Array {
  const cols = x.shape[1]
  const out = new Float64Array((end - start) * cols)
  for (let k = start; k < end; k++)
    for (let j = 0; j < cols; j++) out[(k - start) * cols + j] = x.data[idx[k] * cols + j]
  return out
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length &&
  Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]))

describe('takeRows with a row cache (batches of compressed rows)', () => {
  afterAll(() => setKernelBackend('auto'))

  it('gives the rows themselves, and counts their non-zeros (≠ 0: NaN kept, ±0 dropped)', () => {
    fc.assert(
      fc.property(
        dataset.chain((x) =>
          fc.tuple(fc.constant(x), fc.array(draws(x.shape[0]), { minLength: 1, maxLength: 4 })),
        ),
        ([x, batches]) => {
          const cache = rowCache(x)!
          for (const { idx, start, end } of batches) {
            const b = takeRows(x, idx, start, end, cache)
            const want = rowsOf(x, idx, start, end)
            expect(b.shape).toEqual([end - start, x.shape[1]])
            const g = gatheredFrom(b)
            if (g !== undefined) {
              let nz = 0
              for (const v of want) if (v !== 0) nz++
              expect(g.nnz).toBe(nz)
              expect(Array.from(g.pick)).toEqual(idx.slice(start, end))
            }
            expect(same(b.data, want)).toBe(true)
            expect(b.data).toBe(b.data) // built once
          }
        },
      ),
    )
  })

  for (const backend of ['wasm', 'js'] as const) {
    it(`${backend}: x·W and xᵀ·D on a gathered batch equal them on the plain copy, bit for bit`, () => {
      setKernelBackend(backend)
      let runs = 0
      let heldRuns = 0 // cases where the batch was held as gathered rows
      fc.assert(
        fc.property(
          drawn,
          fc.integer({ min: 1, max: 20 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          ([x, { idx, start, end }], n, seed) => {
            const next = lcg(seed)
            const w: Tensor = {
              shape: [x.shape[1], n],
              data: Float64Array.from({ length: x.shape[1] * n }, next),
            }
            const d: Tensor = {
              shape: [end - start, n],
              data: Float64Array.from({ length: (end - start) * n }, next),
            }
            const plain: Tensor = {
              shape: [end - start, x.shape[1]],
              data: rowsOf(x, idx, start, end),
            }
            const b = takeRows(x, idx, start, end, rowCache(x))
            const held = heldLeft(b)
            runs++
            if (held.held() !== null) heldRuns++
            try {
              const y = held.times(w)
              const g = held.transposeTimes(d)
              expect(same(y.data, matmul(plain, w).data)).toBe(true)
              expect(same(g.data, matmul(plain, d, { transposeA: true }).data)).toBe(true)
            } finally {
              held.release()
            }
          },
        ),
      )
      // the property must have reached the gathered path often (wasm only: js holds nothing)
      if (backend === 'wasm') expect(heldRuns).toBeGreaterThanOrEqual(runs / 10)
      else expect(heldRuns).toBe(0)
    })

    it(`${backend}: twoLayerGradient on a gathered batch gives the plain copy's loss and gradients, bit for bit`, () => {
      setKernelBackend(backend)
      fc.assert(
        fc.property(
          drawn,
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 2, max: 6 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          ([x, { idx, start, end }], h, k, seed) => {
            const next = lcg(seed)
            const D = x.shape[1]
            const N = end - start
            const t = (i: number) => (i * 7 + seed) % k
            const p = {
              W1: { shape: [D, h], data: Float64Array.from({ length: D * h }, next) },
              b1: { shape: [h], data: Float64Array.from({ length: h }, next) },
              W2: { shape: [h, k], data: Float64Array.from({ length: h * k }, next) },
              b2: { shape: [k], data: Float64Array.from({ length: k }, next) },
            }
            const labels: Tensor = {
              shape: [N],
              data: Float64Array.from({ length: N }, (_, i) => t(i)),
            }
            const plain: Tensor = { shape: [N, D], data: rowsOf(x, idx, start, end) }
            const want = twoLayerGradient(p, plain, labels)
            const got = twoLayerGradient(p, takeRows(x, idx, start, end, rowCache(x)), labels)
            expect(Object.is(got.loss, want.loss)).toBe(true)
            for (const key of ['W1', 'b1', 'W2', 'b2'] as const) {
              expect(same(got.grad[key].data, want.grad[key].data)).toBe(true)
            }
          },
        ),
      )
    })
  }

  it('rows drawn again (values read from the data set at first, then kept) give the same products', () => {
    setKernelBackend('wasm')
    fc.assert(
      fc.property(
        dataset.chain((x) =>
          fc.tuple(fc.constant(x), fc.array(draws(x.shape[0]), { minLength: 2, maxLength: 4 })),
        ),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        ([x, batches], n, seed) => {
          const next = lcg(seed)
          const w: Tensor = {
            shape: [x.shape[1], n],
            data: Float64Array.from({ length: x.shape[1] * n }, next),
          }
          const cache = rowCache(x)!
          // every batch drawn before any is multiplied: a later draw keeps an earlier batch's values
          const drawnBatches = batches.map(({ idx, start, end }) => ({
            b: takeRows(x, idx, start, end, cache),
            plain: { shape: [end - start, x.shape[1]], data: rowsOf(x, idx, start, end) },
          }))
          for (const { b, plain } of drawnBatches) {
            const held = heldLeft(b)
            try {
              expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
            } finally {
              held.release()
            }
          }
        },
      ),
    )
  })

  for (const backend of ['wasm', 'js'] as const) {
    it(`${backend}: finds the non-zeros of wide rows, past one 64 KB block of rows`, () => {
      setKernelBackend(backend)
      fc.assert(
        fc.property(
          fc.record({
            rows: fc.integer({ min: 20, max: 60 }),
            cols: fc.integer({ min: 500, max: 900 }), // 64 KB holds 9–16 of these rows
            seed: fc.integer({ min: 0, max: 2 ** 30 }),
          }),
          fc.integer({ min: 1, max: 12 }),
          ({ rows, cols, seed }, n) => {
            const next = lcg(seed)
            const data = Float64Array.from({ length: rows * cols }, () => {
              const u = next() + 0.5
              return u < 0.8 ? (u < 0.05 ? -0 : 0) : u > 0.99 ? NaN : next()
            })
            const x: Tensor = { shape: [rows, cols], data }
            const idx = Array.from({ length: rows }, (_, i) => (i * 7 + seed) % rows)
            const b = takeRows(x, idx, 0, rows, rowCache(x))
            const plain = { shape: [rows, cols], data: rowsOf(x, idx, 0, rows) }
            const g = gatheredFrom(b)!
            let nz = 0
            for (const v of plain.data) if (v !== 0) nz++
            expect(g.nnz).toBe(nz)
            const w: Tensor = {
              shape: [cols, n],
              data: Float64Array.from({ length: cols * n }, next),
            }
            const held = heldLeft(b)
            try {
              expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
            } finally {
              held.release()
            }
          },
        ),
        { numRuns: 30 },
      )
    })
  }

  it('gives up on rows that are not sparse, and batches already drawn stay right', () => {
    const rows = 300
    const cols = 80
    const x: Tensor = {
      shape: [rows, cols],
      data: Float64Array.from({ length: rows * cols }, (_, i) => (i % 3 === 0 ? 0 : i / 7)),
    }
    const cache = rowCache(x)!
    const first = Array.from({ length: 200 }, (_, i) => i)
    const early = takeRows(x, first, 0, 200, cache)
    expect(gatheredFrom(early)).toBeDefined() // 200 rows seen: not judged yet
    const lateRows = [...Array.from({ length: 56 }, (_, i) => 200 + i), 3]
    const late = takeRows(x, lateRows, 0, lateRows.length, cache) // 256 rows seen, 2/3 non-zero
    expect(cache.dense).toBe(true)
    expect(gatheredFrom(late)).toBeUndefined()
    expect(gatheredFrom(early)).toBeUndefined()
    expect(same(early.data, rowsOf(x, first, 0, 200))).toBe(true)
    expect(same(late.data, rowsOf(x, lateRows, 0, lateRows.length))).toBe(true)
  })

  it('makes no cache for rows too narrow to skip, or for what is not a matrix', () => {
    expect(rowCache({ shape: [4, 63], data: new Float64Array(4 * 63) })).toBeNull()
    expect(rowCache({ shape: [64], data: new Float64Array(64) })).toBeNull()
    expect(rowCache({ shape: [1, 64], data: new Float64Array(64) })).not.toBeNull()
  })

  it('batches from randomBatches and epochBatches read, spread and clone as plain tensors', () => {
    const rows = 50
    const cols = 100
    const x: Tensor = {
      shape: [rows, cols],
      data: Float64Array.from({ length: rows * cols }, (_, i) => (i % 9 === 0 ? i : 0)),
    }
    const t: Tensor = { shape: [rows], data: Float64Array.from({ length: rows }, (_, i) => i) }
    for (const source of [
      randomBatches({ x, t }, { batchSize: 7, seed: 3 }),
      epochBatches({ x, t }, { batchSize: 7, seed: 3 }),
    ]) {
      let seen = 0
      for (const b of source) {
        const idx = Array.from(b.t.data)
        const want = rowsOf(x, idx, 0, idx.length)
        expect(gatheredFrom(b.x)).toBeDefined()
        expect(same(structuredClone(b.x).data, want)).toBe(true)
        expect(same({ ...b.x }.data, want)).toBe(true)
        expect(JSON.parse(JSON.stringify(b.x)).data).toEqual(Object.fromEntries(want.entries()))
        if (++seen === 12) break
      }
    }
  })
})
