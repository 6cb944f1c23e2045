import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { epochBatches, mlp, setKernelBackend, type Tensor } from 'gradstream'
import { gatheredFrom, keepBytes, rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'
import {
  byteHolds,
  loadWasm,
  ownMemoryBytes,
  pairing,
  pairStats,
  type Levels,
} from '../../src/tensor/kernels/wasmKernels.js'
import { byteImages, lcg, rowsOf, same } from '../helpers/sparseRows.js'

// A data set kept as its 8-bit levels too (keepBytes: loadMnist's images, made from the file's
// bytes) is compressed from the bytes, and its one-hot targets (keepLabels) built from their
// labels; a held batch's columns are paired straight from its rows' CSR (csrPairsRows) where no
// product needs its columns' CSR. None of it may show in a number: the kernels against the ones
// they stand in for, the products against matmul on the plain rows, batches and positions
// against the same data set not kept so.

/** loadMnist's byte·(1/255), byte / 255, the byte itself. */
const LEVEL_FORMS: readonly Levels[] = [
  { mul: 1 / 255, div: 1 },
  { mul: 1, div: 255 },
  { mul: 1, div: 1 },
]

const level = ({ mul, div }: Levels, b: number) => (b * mul) / div

/**
 * rows × cols bytes, about `density` non-zero, in runs (strokes) or not, and the numbers they
 * stand for in one of the level forms.
 */
const byteMatrix = (maxRows: number, minCols: number, maxCols: number) =>
  fc
    .record({
      rows: fc.integer({ min: 1, max: maxRows }),
      cols: fc.integer({ min: minCols, max: maxCols }),
      density: fc.constantFrom(0.05, 0.15, 0.25, 0.6),
      runs: fc.boolean(),
      form: fc.integer({ min: 0, max: 2 }),
      seed: fc.integer({ min: 0, max: 2 ** 30 }),
    })
    .map(({ rows, cols, density, runs, form, seed }) => {
      let s = seed
      const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
      const bytes = new Uint8Array(rows * cols)
      let on = false
      for (let q = 0; q < bytes.length; q++) {
        on = runs ? (next() < 0.8 ? on : next() < density) : next() < density
        bytes[q] = on ? 1 + Math.floor(next() * 255) : 0
      }
      const levels = LEVEL_FORMS[form]
      const data = Float64Array.from(bytes, (b) => level(levels, b))
      return { rows, cols, bytes, levels, data }
    })

/**
 * A region of the kernels' own linear memory of at least `bytes`, past all that was used before
 * the first call (nothing laid out there: writing it disturbs no numbers the kernels keep).
 */
function scratch(bytes: number) {
  const w = loadWasm()!
  if (region === null) region = { at: ownMemoryBytes(), bytes: 0 }
  if (region.bytes < bytes) {
    const end = region.at + bytes
    if (end > w.memory.buffer.byteLength)
      w.memory.grow(Math.ceil((end - w.memory.buffer.byteLength) / 65536))
    region.bytes = bytes
  }
  const buf = w.memory.buffer
  return {
    w,
    at: region.at,
    I: new Int32Array(buf),
    F: new Float64Array(buf),
    U: new Uint8Array(buf),
  }
}
let region: { at: number; bytes: number } | null = null

describe('kernels for rows of bytes', () => {
  afterAll(() => setKernelBackend('auto'))

  it('csrRowsBytes finds csrRows’ entries in the numbers, bit for bit, and stops past maxNnz', () => {
    setKernelBackend('wasm')
    fc.assert(
      fc.property(byteMatrix(40, 1, 100), fc.double({ min: 0, max: 1 }), (x, cut) => {
        const { rows, cols, bytes, levels, data } = x
        const room = rows * cols + cols
        const maxNnz = Math.floor(cut * rows * cols)
        const { w, at, I, F, U } = scratch(16 * rows * cols * 4 + 8 * 4096 + 65536)
        let p = at
        const take = (n: number) => ((p = (p + 15) & ~15), (p += n), p - n)
        const a = take(8 * rows * cols)
        const [rp1, ci1, v1] = [take(4 * (rows + 1)), take(4 * room), take(8 * room)]
        const [rp2, ci2, v2] = [take(4 * (rows + 1)), take(4 * room), take(8 * room)]
        const ab = take(rows * cols)
        const table = take(8 * 256)
        F.set(data, a >> 3)
        U.set(bytes, ab)
        const want = w.csrRows(a, rows, cols, maxNnz, rp1, ci1, v1)
        const got = w.csrRowsBytes(
          ab,
          rows,
          cols,
          maxNnz,
          rp2,
          ci2,
          v2,
          levels.mul,
          levels.div,
          table,
        )
        expect(got).toBe(want)
        if (want < 0) return
        expect(I.subarray(rp2 >> 2, (rp2 >> 2) + rows + 1)).toEqual(
          I.subarray(rp1 >> 2, (rp1 >> 2) + rows + 1),
        )
        expect(I.subarray(ci2 >> 2, (ci2 >> 2) + want)).toEqual(
          I.subarray(ci1 >> 2, (ci1 >> 2) + want),
        )
        expect(
          same(F.subarray(v2 >> 3, (v2 >> 3) + want), F.subarray(v1 >> 3, (v1 >> 3) + want)),
        ).toBe(true)
      }),
    )
  })

  it('csrPairsRows makes csrPairs’ pairs of csrTranspose’s columns, bit for bit', () => {
    setKernelBackend('wasm')
    const value = fc.oneof(
      { arbitrary: fc.double({ noDefaultInfinity: false }), weight: 6 },
      { arbitrary: fc.constantFrom(-0, NaN, Infinity, 5e-324), weight: 1 },
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 70 }),
        fc.constantFrom(0.1, 0.4, 0.9),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.array(value, { minLength: 64, maxLength: 64 }),
        (rows, cols, density, seed, values) => {
          // a CSR of rows × cols: columns increasing in each row, any values
          const next = lcg(seed)
          const rowPtr = [0]
          const colIdx: number[] = []
          for (let i = 0; i < rows; i++) {
            for (let c = 0; c < cols; c++) if (next() + 0.5 < density) colIdx.push(c)
            rowPtr.push(colIdx.length)
          }
          const nnz = colIdx.length
          const vals = Float64Array.from(colIdx, (_, q) => values[q % 64])
          const pairs = (cols + 1) >> 1
          const { w, at, I, F } = scratch(64 * (nnz + rows + cols + 16) + 65536)
          let p = at
          const take = (n: number) => ((p = (p + 15) & ~15), (p += n), p - n)
          const [rp, ci, v] = [take(4 * (rows + 1)), take(4 * nnz + 4), take(8 * nnz + 8)]
          const [trp, tci, tv] = [take(4 * (cols + 1)), take(4 * nnz + 4), take(8 * nnz + 8)]
          const [prp1, pci1, pv1] = [take(4 * (pairs + 1)), take(4 * nnz + 4), take(16 * nnz + 16)]
          const [prp2, pci2, pv2] = [take(4 * (pairs + 1)), take(4 * nnz + 4), take(16 * nnz + 16)]
          I.set(rowPtr, rp >> 2)
          I.set(colIdx, ci >> 2)
          F.set(vals, v >> 3)
          w.csrTranspose(rp, ci, v, rows, cols, trp, tci, tv)
          w.csrPairs(trp, tci, tv, cols, prp1, pci1, pv1)
          w.csrPairsRows(rp, ci, v, rows, cols, prp2, pci2, pv2)
          const n = I[(prp1 >> 2) + pairs]
          expect(I.subarray(prp2 >> 2, (prp2 >> 2) + pairs + 1)).toEqual(
            I.subarray(prp1 >> 2, (prp1 >> 2) + pairs + 1),
          )
          expect(I.subarray(pci2 >> 2, (pci2 >> 2) + n)).toEqual(
            I.subarray(pci1 >> 2, (pci1 >> 2) + n),
          )
          expect(
            same(
              F.subarray(pv2 >> 3, (pv2 >> 3) + 2 * n),
              F.subarray(pv1 >> 3, (pv1 >> 3) + 2 * n),
            ),
          ).toBe(true)
        },
      ),
    )
  })
})

describe('batches of a data set kept as bytes', () => {
  const { minColumns } = pairing
  afterAll(() => {
    pairing.minColumns = minColumns
    setKernelBackend('auto')
  })

  it('held from the bytes (unread) or from the cache: matmul’s bits on the plain rows', () => {
    setKernelBackend('wasm')
    let fromBytes = 0
    let fromRows = 0
    fc.assert(
      fc.property(
        byteMatrix(60, 64, 130).chain((x) =>
          fc.tuple(
            fc.constant(x),
            fc.array(fc.array(fc.nat({ max: x.rows - 1 }), { minLength: 1, maxLength: 40 }), {
              minLength: 1,
              maxLength: 5,
            }),
          ),
        ),
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(0, Infinity),
        fc.integer({ min: 0, max: 2 ** 30 }),
        ([x, batches], deferFirst, n, pairsFrom, seed) => {
          const { rows, cols, bytes, levels, data } = x
          keepBytes(data, bytes, levels)
          const t: Tensor = { shape: [rows, cols], data }
          const cache = rowCache(t, deferFirst)!
          expect(cache.bytes).not.toBeNull()
          // every Aᵀ·B over the column pairs, or none
          pairing.minColumns = pairsFrom
          const next = lcg(seed)
          const drawn = batches.map((idx) => takeRows(t, idx, 0, idx.length, cache))
          for (const [k, b] of drawn.entries()) {
            const idx = batches[k]
            const plain = { shape: [idx.length, cols], data: rowsOf(t, idx) }
            const w: Tensor = {
              shape: [cols, n],
              data: Float64Array.from({ length: cols * n }, next),
            }
            const d: Tensor = {
              shape: [idx.length, n],
              data: Float64Array.from({ length: idx.length * n }, next),
            }
            const before = { ...byteHolds, ...pairStats }
            const held = heldLeft(b)
            try {
              expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
              const tw = held.transposeTimes(d).data
              expect(same(tw, matmul(plain, d, { transposeA: true }).data)).toBe(true)
            } finally {
              held.release()
            }
            fromBytes += byteHolds.own - before.own
            fromRows += pairStats.fromRows - before.fromRows
            const g = gatheredFrom(b)
            if (g !== undefined && Number.isFinite(g.nonZeros)) {
              expect(g.nonZeros).toBe(Array.from(plain.data).filter((v) => v !== 0).length)
            }
            expect(same(b.data, plain.data)).toBe(true)
          }
        },
      ),
    )
    // both paths reached: holds from the bytes, and pairs made from the rows' CSR
    expect(fromBytes).toBeGreaterThan(20)
    expect(fromRows).toBeGreaterThan(20)
  })

  it('epochBatches: the same batches, positions and resumed run as the data set not kept; the bytes read', () => {
    setKernelBackend('wasm')
    const [rows, cols] = [300, 784]
    const { make, makeKept } = byteImages(rows, cols, 23)
    const kept = makeKept()
    const plainSet = make()
    const net = mlp({ sizes: [cols, 32, 10], seed: 0 })
    const run = (data: typeof kept, from?: Parameters<typeof epochBatches>[1]['from']) => {
      const out: { x: Float64Array; t: Float64Array; loss: number; position: unknown }[] = []
      for (const b of epochBatches(data, { batchSize: 64, seed: 4, ...(from ? { from } : {}) })) {
        const { loss } = net.lossAndGradient(net.params, b.x, b.t)
        out.push({ x: b.x.data, t: b.t.data, loss, position: b.position })
        if (out.length === 12) break // two epochs and a half of 5 batches
      }
      return out
    }
    const holds = byteHolds.own
    const got = run(kept)
    expect(byteHolds.own - holds).toBeGreaterThanOrEqual(5) // the first epoch, from the bytes
    const want = run(plainSet)
    expect(got.map((b) => b.position)).toEqual(want.map((b) => b.position))
    for (const [k, b] of got.entries()) {
      expect(same(b.x, want[k].x)).toBe(true)
      expect(same(b.t, want[k].t)).toBe(true)
      expect(Object.is(b.loss, want[k].loss)).toBe(true)
    }
    // resumed from a checkpoint's position mid-epoch: the batches that followed it
    const position = got[6].position as NonNullable<Parameters<typeof epochBatches>[1]['from']>
    const resumed = run(make(), position)
    for (let k = 0; k < 5; k++) {
      expect(resumed[k].position).toEqual(got[7 + k].position)
      expect(same(resumed[k].x, got[7 + k].x)).toBe(true)
      expect(same(resumed[k].t, got[7 + k].t)).toBe(true)
    }
  })
})
