import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { setKernelBackend, type Tensor } from 'gradstream'
import {
  gatheredFrom,
  rowCache,
  scaleBytes,
  takeRows,
  type RowCache,
} from '../../src/tensor/gatheredRows.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'
import { lcg, rowsOf, same } from '../helpers/sparseRows.js'

// Images scaled from bytes by `scaleBytes` (as loadMnist makes them): a row cache finds their
// entries in the bytes, and a batch drawn unread is packed from them apart from the cache. Both
// must give the entries compressing the dense rows gives, in the same order: the same bits from
// every product as on the plain copy.

/** Bytes (each 0 with the drawn probability), from a drawn offset into their buffer (0–3:
 * aligned to 4 or not), as rows × cols; the scales loadMnist uses. */
const byteImages = fc
  .record({
    rows: fc.integer({ min: 1, max: 40 }),
    cols: fc.integer({ min: 64, max: 130 }),
    zeros: fc.constantFrom(0.5, 0.8, 0.95),
    offset: fc.integer({ min: 0, max: 3 }),
    scale: fc.constantFrom(1 / 255, 1),
  })
  .chain(({ rows, cols, zeros, offset, scale }) =>
    fc
      .array(
        fc.tuple(
          fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
          fc.integer({ min: 1, max: 255 }),
        ),
        {
          minLength: rows * cols,
          maxLength: rows * cols,
        },
      )
      .map((es) => {
        const buffer = new Uint8Array(offset + rows * cols)
        es.forEach(([u, k], i) => (buffer[offset + i] = u < zeros ? 0 : k))
        return { bytes: buffer.subarray(offset), rows, cols, scale }
      }),
  )

/** Draws of row indices (with repeats): a batch each. */
const batchesOf = (rows: number) =>
  fc.array(fc.array(fc.nat({ max: rows - 1 }), { minLength: 1, maxLength: 30 }), {
    minLength: 1,
    maxLength: 5,
  })

/** Each row's (column, value) entries ≠ 0, compressed from the dense rows (the reference). */
function compressed(x: Float64Array, cols: number, pick: ArrayLike<number>): number[][] {
  return Array.from(pick, (r) => {
    const out: number[] = []
    for (let j = 0; j < cols; j++) if (x[r * cols + j] !== 0) out.push(j, x[r * cols + j])
    return out
  })
}

/** Row r's entries kept packed in the cache, as (column, value) pairs. */
function entriesOf(cache: RowCache, r: number): number[] {
  const { start, count, packed, levels } = cache
  const out: number[] = []
  for (let q = start[r]; q < start[r] + count[r]; q++)
    out.push(packed[q] & 0xffff, ((packed[q] >>> 16) * levels!.mul) / levels!.div)
  return out
}

describe('images scaled from bytes (entries found in the bytes)', () => {
  afterAll(() => setKernelBackend('auto'))

  it('scaleBytes gives bytes · scale', () => {
    fc.assert(
      fc.property(byteImages, ({ bytes, scale }) => {
        const x = scaleBytes(bytes, scale)
        expect(
          same(
            x,
            Array.from(bytes, (b) => b * scale),
          ),
        ).toBe(true)
      }),
    )
  })

  it("packUnread gives the dense rows' compressed entries, in order", () => {
    fc.assert(
      fc.property(
        byteImages.chain((im) => fc.tuple(fc.constant(im), batchesOf(im.rows))),
        ([{ bytes, rows, cols, scale }, batches]) => {
          const x = scaleBytes(bytes, scale)
          const cache = rowCache({ shape: [rows, cols], data: x }, true)!
          for (const idx of batches) {
            const pick = Int32Array.from(idx)
            const u = cache.packUnread(pick)!
            const { start, count, packed, levels } = u.rows
            const got = Array.from(u.order, (i) => {
              const out: number[] = []
              for (let q = start[i]; q < start[i] + count[i]; q++)
                out.push(packed[q] & 0xffff, ((packed[q] >>> 16) * levels!.mul) / levels!.div)
              return out
            })
            expect(got).toEqual(compressed(x, cols, pick))
            expect(u.nnz).toBe(got.reduce((s, e) => s + e.length / 2, 0))
          }
        },
      ),
    )
  })

  for (const backend of ['wasm', 'js'] as const) {
    it(`${backend}: batches drawn unread, then again, give the plain copy's rows and products`, () => {
      setKernelBackend(backend)
      let products = 0
      let held = 0
      let found = 0
      fc.assert(
        fc.property(
          byteImages.chain((im) => fc.tuple(fc.constant(im), batchesOf(im.rows))),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          ([{ bytes, rows, cols, scale }, batches], n, seed) => {
            const next = lcg(seed)
            const x: Tensor = { shape: [rows, cols], data: scaleBytes(bytes, scale) }
            const w: Tensor = {
              shape: [cols, n],
              data: Float64Array.from({ length: cols * n }, next),
            }
            // deferFirst as epochBatches: a batch of rows none drawn before is held unread
            const cache = rowCache(x, true)!
            for (const idx of batches) {
              const b = takeRows(x, idx, 0, idx.length, cache)
              const plain: Tensor = { shape: [idx.length, cols], data: rowsOf(x, idx) }
              const d: Tensor = {
                shape: [idx.length, n],
                data: Float64Array.from({ length: idx.length * n }, next),
              }
              const h = heldLeft(b)
              products++
              if (h.held() !== null) held++
              try {
                expect(same(h.times(w).data, matmul(plain, w).data)).toBe(true)
                expect(
                  same(h.transposeTimes(d).data, matmul(plain, d, { transposeA: true }).data),
                ).toBe(true)
              } finally {
                h.release()
              }
              expect(same(b.data, plain.data)).toBe(true)
              // the rows' entries, found now if not yet (after the hold), are the dense rows'
              const g = gatheredFrom(b)
              if (g !== undefined && g.nnz !== Infinity) {
                found++
                for (const r of idx)
                  expect(entriesOf(cache, r)).toEqual(compressed(x.data, cols, [r])[0])
              }
            }
          },
        ),
      )
      expect(found).toBeGreaterThanOrEqual(products / 10)
      if (backend === 'wasm') expect(held).toBeGreaterThanOrEqual(products / 10)
      else expect(held).toBe(0)
    })
  }
})
