import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  epochBatches,
  randomBatches,
  setKernelBackend,
  twoLayerGradient,
  type Tensor,
} from 'gradstream'
import { gatheredFrom, oneHotRows, rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'
import { lcg, rowsOf, same, sparseDataset } from '../helpers/sparseRows.js'

// A batch drawn through a RowCache is a lazy tensor: its dense rows are built when `data` is
// first read, while heldLeft / twoLayerGradient gather its compressed rows straight into wasm
// memory. Both must be invisible: the same numbers as the rows copied plainly, the same bits
// from every product and gradient as on the plain copy.

/** Draws of row indices (with repeats) and the slice of them a batch takes. */
const draws = (rows: number) =>
  fc
    .array(fc.nat({ max: rows - 1 }), { minLength: 1, maxLength: 30 })
    .chain((idx) =>
      fc
        .tuple(fc.nat({ max: idx.length - 1 }), fc.nat({ max: idx.length - 1 }))
        .map(([a, b]) => ({ idx, start: Math.min(a, b), end: Math.max(a, b) + 1 })),
    )

const dataset = sparseDataset(1 / 255)
/** A dataset and one batch's draws from it. */
const drawn = dataset.chain((x) => fc.tuple(fc.constant(x), draws(x.shape[0])))

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
    let products = 0
    let heldProducts = 0 // products that read the gathered rows (small ones multiply the copy)
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
            products++
            if (held.held() !== null) heldProducts++
            try {
              expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
            } finally {
              held.release()
            }
          }
        },
      ),
    )
    expect(heldProducts).toBeGreaterThanOrEqual(products / 10)
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

  // The arenas (packed entries, column indices, kept values) are sized at the first draw for
  // every row at the density the cache gives up above, and grow (a new array, the entries so
  // far copied) only when rows denser than that come before the cache judges them: rows found
  // before and after a growth must gather as the plain copy.
  // (wasm: the JavaScript kernels multiply the dense copy and never read the arenas)
  for (const form of ['packed', 'unpacked'] as const) {
    it(`wasm, ${form}: rows kept across an arena's growth give the plain copy's products`, () => {
      setKernelBackend('wasm')
      const rows = 40
      const cols = 64
      // rows 0–29 half non-zero (denser than the room is made for: 0.3·rows·cols = 768
      // entries), rows 30–39 one in 16; 8-bit levels (packed) or values of no level (column
      // indices, then values)
      const value = (r: number, j: number) =>
        form === 'packed' ? (1 + ((r * 7 + j) % 255)) * (1 / 255) : 0.3 + r + j / 128
      const nonZero = (r: number, j: number) => (r < 30 ? (r + j) % 2 === 0 : j % 16 === r % 16)
      const x: Tensor = {
        shape: [rows, cols],
        data: Float64Array.from({ length: rows * cols }, (_, i) => {
          const [r, j] = [Math.floor(i / cols), i % cols]
          return nonZero(r, j) ? value(r, j) : 0
        }),
      }
      const cache = rowCache(x)!
      // five rows a draw: room is made for a whole row per row drawn (320 entries a draw)
      const draw = (a: number, b: number) => {
        for (let r = a; r < b; r += 5) takeRows(x, [r, r + 1, r + 2, r + 3, r + 4], 0, 5, cache)
      }
      const arena = () => (form === 'packed' ? cache.packed : cache.colIdx)
      draw(0, 15) // 480 entries, in the first room (0.3·40·64 = 768)
      const first = arena()
      draw(15, 30) // 960: grown
      expect(arena()).not.toBe(first)
      expect(cache.levels).toEqual(form === 'packed' ? { mul: 1 / 255, div: 1 } : null)
      if (form === 'unpacked') {
        // drawn again: their values kept from now on, past the values' first room too
        draw(0, 15)
        const vals = cache.vals
        draw(15, 30)
        expect(cache.vals).not.toBe(vals)
      }
      expect(cache.dense).toBe(false) // 30 of 40 rows seen: not judged yet
      const next = lcg(rows)
      // n ≥ 4 and 12·64·n ≥ WASM_MIN_WORK: the held (gathered) rows are what the products read
      const n = 8
      const w: Tensor = { shape: [cols, n], data: Float64Array.from({ length: cols * n }, next) }
      // rows from before and after the growth, and new sparse ones (38 of 40 rows seen: not
      // judged yet): 160 of 768 entries non-zero, sparse enough to be held gathered
      const idx = [3, 30, 20, 31, 32, 33, 34, 35, 36, 37, 14, 15]
      const d: Tensor = {
        shape: [idx.length, n],
        data: Float64Array.from({ length: idx.length * n }, next),
      }
      const plain: Tensor = { shape: [idx.length, cols], data: rowsOf(x, idx) }
      const b = takeRows(x, idx, 0, idx.length, cache)
      expect(gatheredFrom(b)!.nnz).toBe(4 * 32 + 8 * 4)
      const held = heldLeft(b)
      try {
        expect(held.held()).not.toBeNull()
        expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
        expect(same(held.transposeTimes(d).data, matmul(plain, d, { transposeA: true }).data)).toBe(
          true,
        )
      } finally {
        held.release()
      }
      expect(same(b.data, plain.data)).toBe(true)
    })
  }

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

/** The 8-bit forms of images: loadMnist's byte·(1/255), byte / 255, and the byte itself. */
const levelForms: readonly ((k: number) => number)[] = [
  (k) => k * (1 / 255),
  (k) => k / 255,
  (k) => k,
]

/**
 * An image-like dataset (cols ≥ 64): each entry 0 (one in ten −0) or a level k = 1…255 in one of
 * the forms; with `spoil`, one entry of a row past the first is a value of no level (a NaN, a
 * negative number, or a level of another scale), which the cache finds only when that row is
 * drawn.
 */
const images = fc
  .record({
    rows: fc.integer({ min: 2, max: 40 }),
    cols: fc.integer({ min: 64, max: 130 }),
    form: fc.nat({ max: levelForms.length - 1 }),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
    spoil: fc.option(
      fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        value: fc.constantFrom(NaN, -0.5, 1000.5, 0.3, 2 ** -40),
      }),
    ),
  })
  .map(({ rows, cols, form, seed, spoil }) => {
    const next = lcg(seed)
    const data = Float64Array.from({ length: rows * cols }, () => {
      const u = next() + 0.5
      if (u < 0.8) return u < 0.08 ? -0 : 0
      return levelForms[form](1 + Math.floor((next() + 0.5) * 255))
    })
    // past the first row: the cache chooses its levels from the first row it draws
    const at = cols + Math.floor((spoil?.at ?? 0) * (rows - 1) * cols)
    if (spoil !== null) data[at] = spoil.value
    const spoiledRow = spoil === null ? -1 : Math.floor(at / cols)
    return { x: { shape: [rows, cols], data } as Tensor, spoiledRow }
  })

describe('a row cache of 8-bit images (rows kept packed)', () => {
  afterAll(() => setKernelBackend('auto'))

  for (const backend of ['wasm', 'js'] as const) {
    it(`${backend}: batches drawn again and again give the rows, products and gradients of the plain copy`, () => {
      setKernelBackend(backend)
      let products = 0
      let heldProducts = 0 // products that read the packed rows (small ones multiply the copy)
      fc.assert(
        fc.property(
          images.chain((im) =>
            fc.tuple(
              fc.constant(im),
              fc.array(draws(im.x.shape[0]), { minLength: 1, maxLength: 5 }),
            ),
          ),
          fc.integer({ min: 1, max: 20 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          ([{ x, spoiledRow }, batches], n, seed) => {
            const next = lcg(seed)
            const D = x.shape[1]
            const w: Tensor = { shape: [D, n], data: Float64Array.from({ length: D * n }, next) }
            const cache = rowCache(x)!
            // the first row decides the levels (another form is taken if a later row needs it);
            // the row of no level unpacks the cache when it is drawn, not before
            takeRows(x, [0], 0, 1, cache)
            expect(cache.levels).not.toBeNull()
            let spoilerDrawn = false
            for (const { idx, start, end } of batches) {
              const b = takeRows(x, idx, start, end, cache)
              if (idx.slice(start, end).includes(spoiledRow)) spoilerDrawn = true
              // (unless it gave up on rows too dense: then it keeps nothing)
              if (!cache.dense) expect(cache.levels === null).toBe(spoilerDrawn)
              const plain: Tensor = { shape: [end - start, D], data: rowsOf(x, idx, start, end) }
              const d: Tensor = {
                shape: [end - start, n],
                data: Float64Array.from({ length: (end - start) * n }, next),
              }
              const held = heldLeft(b)
              products++
              if (held.held() !== null) heldProducts++
              try {
                expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
                expect(
                  same(held.transposeTimes(d).data, matmul(plain, d, { transposeA: true }).data),
                ).toBe(true)
              } finally {
                held.release()
              }
              expect(same(b.data, plain.data)).toBe(true)
            }
          },
        ),
      )
      // the property must have reached the packed rows often (wasm only: js holds nothing)
      if (backend === 'wasm') expect(heldProducts).toBeGreaterThanOrEqual(products / 10)
      else expect(heldProducts).toBe(0)
    })
  }

  it("wasm: twoLayerGradient on packed rows gives the plain copy's loss and gradients, bit for bit", () => {
    setKernelBackend('wasm')
    fc.assert(
      fc.property(
        images.chain((im) => fc.tuple(fc.constant(im), draws(im.x.shape[0]))),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        ([{ x }, { idx, start, end }], h, seed) => {
          const next = lcg(seed)
          const D = x.shape[1]
          const N = end - start
          const k = 10
          const p = {
            W1: { shape: [D, h], data: Float64Array.from({ length: D * h }, next) },
            b1: { shape: [h], data: Float64Array.from({ length: h }, next) },
            W2: { shape: [h, k], data: Float64Array.from({ length: h * k }, next) },
            b2: { shape: [k], data: Float64Array.from({ length: k }, next) },
          }
          const t: Tensor = {
            shape: [N, k],
            data: Float64Array.from({ length: N * k }, (_, i) =>
              i % k === (i + seed) % 3 ? 1 : 0,
            ),
          }
          const plain: Tensor = { shape: [N, D], data: rowsOf(x, idx, start, end) }
          const want = twoLayerGradient(p, plain, t)
          const cache = rowCache(x)!
          takeRows(x, idx, start, end, cache) // drawn before: the rows are found, then gathered
          const got = twoLayerGradient(p, takeRows(x, idx, start, end, cache), t)
          expect(Object.is(got.loss, want.loss)).toBe(true)
          for (const key of ['W1', 'b1', 'W2', 'b2'] as const) {
            expect(same(got.grad[key].data, want.grad[key].data)).toBe(true)
          }
        },
      ),
    )
  })

  it('keeps no levels for rows whose values are not 8-bit levels', () => {
    const x: Tensor = {
      shape: [3, 64],
      data: Float64Array.from({ length: 192 }, (_, i) => (i % 5 === 0 ? 0.3 : 0)),
    }
    const cache = rowCache(x)!
    takeRows(x, [1, 2], 0, 2, cache)
    expect(cache.levels).toBeNull()
    const loadMnistLike: Tensor = {
      shape: [2, 64],
      data: Float64Array.from({ length: 128 }, (_, i) => (i % 4 === 0 ? (i % 256) * (1 / 255) : 0)),
    }
    const packed = rowCache(loadMnistLike)!
    takeRows(loadMnistLike, [0, 1], 0, 2, packed)
    expect(packed.levels).toEqual({ mul: 1 / 255, div: 1 })
  })
})

describe('takeRows with oneHotRows (targets drawn as labels)', () => {
  /**
   * Rows of k entries: mostly one-hot, some not (two 1s, −0, NaN, other values, all zeros); k
   * past 127 too, where the labels no longer fit the bytes they are kept in for fewer classes.
   */
  const targets = fc
    .record({
      rows: fc.integer({ min: 1, max: 30 }),
      k: fc.oneof(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 120, max: 300 })),
    })
    .chain(({ rows, k }) =>
      fc
        .array(
          fc.oneof(
            { arbitrary: fc.nat({ max: k - 1 }).map((l) => ({ l, odd: null })), weight: 6 },
            {
              arbitrary: fc.record({
                l: fc.nat({ max: k - 1 }),
                odd: fc.record({
                  at: fc.nat({ max: k - 1 }),
                  v: fc.constantFrom(-0, NaN, 1, 0.5, -1, 2, 0, Infinity),
                }),
              }),
              weight: 2,
            },
            { arbitrary: fc.constant({ l: -1, odd: null }), weight: 1 },
          ),
          { minLength: rows, maxLength: rows },
        )
        .map((rs) => {
          const data = new Float64Array(rows * k)
          rs.forEach(({ l, odd }, r) => {
            if (l >= 0) data[r * k + l] = 1
            if (odd !== null) data[r * k + odd.at] = odd.v
          })
          return { shape: [rows, k], data } as Tensor
        }),
    )

  it('gives the rows themselves, bit for bit, drawn once or again', () => {
    fc.assert(
      fc.property(
        targets.chain((t) =>
          fc.tuple(fc.constant(t), fc.array(draws(t.shape[0]), { minLength: 1, maxLength: 4 })),
        ),
        ([t, batches]) => {
          const labels = oneHotRows(t)!
          for (const { idx, start, end } of batches) {
            const b = takeRows(t, idx, start, end, labels)
            expect(b.shape).toEqual([end - start, t.shape[1]])
            expect(same(b.data, rowsOf(t, idx, start, end))).toBe(true)
          }
        },
      ),
    )
  })

  it('makes none for labels (one number a row)', () => {
    expect(oneHotRows({ shape: [4], data: new Float64Array(4) })).toBeNull()
    expect(oneHotRows({ shape: [4, 1], data: new Float64Array(4) })).toBeNull()
  })
})
