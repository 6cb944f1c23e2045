import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ad,
  epochBatches,
  mlp,
  setKernelBackend,
  valueAndGrad,
  type Tensor,
  type Var,
} from 'gradstream'
import { gatheredFrom, rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'
import { lcg, rowsOf, same, sparseDataset } from '../helpers/sparseRows.js'

// A row cache made with `deferFirst` (epochBatches') leaves a batch none of whose rows was drawn
// before unread: the product that holds it compresses the rows straight from the data set into
// wasm memory, and the cache keeps a row's entries only from its second draw on. Invisible in
// the numbers: the rows themselves, and the same bits from every product and gradient as the
// plain copy's (the hold compresses the same rows in the same order as csrRows on that copy).

const dataset = sparseDataset(7 / 255)

/**
 * Batches of row indices (repeats allowed, within a batch and across batches, so rows are drawn
 * a first, second and third time), each with what is asked of it first: its count of non-zeros
 * (which finds its rows in the cache) or a product holding it.
 */
const batchesOf = (rows: number) =>
  fc.array(
    fc.record({
      idx: fc.array(fc.nat({ max: rows - 1 }), { minLength: 1, maxLength: 30 }),
      countFirst: fc.boolean(),
    }),
    { minLength: 1, maxLength: 6 },
  )

const nonZeros = (a: ArrayLike<number>) => Array.prototype.filter.call(a, (v) => v !== 0).length

describe('a row cache that defers first draws (unread batches)', () => {
  afterAll(() => setKernelBackend('auto'))

  it('wasm: products, counts and rows equal the plain copy’s, bit for bit, however often a row is drawn', () => {
    setKernelBackend('wasm')
    let unreadHolds = 0
    let holds = 0
    fc.assert(
      fc.property(
        dataset.chain((x) => fc.tuple(fc.constant(x), batchesOf(x.shape[0]))),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        ([x, batches], n, seed) => {
          const next = lcg(seed)
          const cols = x.shape[1]
          const cache = rowCache(x, true)!
          const drawnBefore = new Set<number>()
          // every batch drawn before any is used: a later draw must not disturb an earlier batch
          const drawn = batches.map(({ idx, countFirst }) => {
            const first = !cache.dense && idx.every((r) => !drawnBefore.has(r))
            idx.forEach((r) => drawnBefore.add(r))
            const b = takeRows(x, idx, 0, idx.length, cache)
            const g = gatheredFrom(b)
            // unread exactly when no row of it was drawn before (and the cache still holds)
            if (g !== undefined) expect(g.unread).toBe(first)
            return {
              b,
              idx,
              countFirst,
              plain: { shape: [idx.length, cols], data: rowsOf(x, idx) },
            }
          })
          for (const { b, idx, countFirst, plain } of drawn) {
            const w: Tensor = {
              shape: [cols, n],
              data: Float64Array.from({ length: cols * n }, next),
            }
            const d: Tensor = {
              shape: [idx.length, n],
              data: Float64Array.from({ length: idx.length * n }, next),
            }
            const g = gatheredFrom(b)
            if (countFirst && g !== undefined) {
              const nnz = g.nnz
              // Infinity: the cache gave up on the rows while finding them
              if (Number.isFinite(nnz)) expect(nnz).toBe(nonZeros(plain.data))
              expect(g.unread).toBe(false)
            }
            const unread = gatheredFrom(b)?.unread === true
            const held = heldLeft(b)
            const heldUnread = unread && held.held() !== null
            if (held.held() !== null) {
              holds++
              if (unread) unreadHolds++
            }
            try {
              expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
              expect(
                same(held.transposeTimes(d).data, matmul(plain, d, { transposeA: true }).data),
              ).toBe(true)
            } finally {
              held.release()
            }
            const after = gatheredFrom(b)
            if (after !== undefined) {
              // a measure of work: the hold's count, the rows left unread by reading it
              const count = after.nonZeros
              expect(after.unread).toBe(heldUnread)
              if (Number.isFinite(count)) expect(count).toBe(nonZeros(plain.data))
              if (Number.isFinite(after.nnz)) expect(after.nnz).toBe(nonZeros(plain.data))
            }
            expect(same(b.data, plain.data)).toBe(true)
          }
        },
      ),
    )
    // the property must have reached both holds often: unread rows and rows in the cache
    expect(unreadHolds).toBeGreaterThan(holds / 10)
    expect(holds - unreadHolds).toBeGreaterThan(holds / 10)
  })

  it('js: draws no batch unread (the JavaScript kernels hold nothing)', () => {
    setKernelBackend('js')
    const x: Tensor = {
      shape: [4, 64],
      data: Float64Array.from({ length: 256 }, (_, i) => (i % 5 === 0 ? i : 0)),
    }
    const b = takeRows(x, [2, 0], 0, 2, rowCache(x, true))
    expect(gatheredFrom(b)!.unread).toBe(false)
    expect(same(b.data, rowsOf(x, [2, 0]))).toBe(true)
  })

  it('gives up when a hold finds the rows too dense, and batches already drawn stay right', () => {
    setKernelBackend('wasm')
    const [rows, cols, n] = [60, 80, 8]
    const x: Tensor = {
      shape: [rows, cols],
      data: Float64Array.from({ length: rows * cols }, (_, i) => (i % 3 === 0 ? 0 : i / 7)),
    }
    const cache = rowCache(x, true)!
    const a = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    const b = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    const ba = takeRows(x, a, 0, a.length, cache)
    const bb = takeRows(x, b, 0, b.length, cache)
    expect(gatheredFrom(ba)!.unread).toBe(true)
    const w: Tensor = { shape: [cols, n], data: Float64Array.from({ length: cols * n }, lcg(3)) }
    const held = heldLeft(ba)
    try {
      expect(held.held()).toBeNull() // 2/3 non-zero: not held
      expect(
        same(held.times(w).data, matmul({ shape: [10, cols], data: rowsOf(x, a) }, w).data),
      ).toBe(true)
    } finally {
      held.release()
    }
    expect(cache.dense).toBe(true)
    expect(gatheredFrom(bb)).toBeUndefined()
    expect(same(ba.data, rowsOf(x, a))).toBe(true)
    expect(same(bb.data, rowsOf(x, b))).toBe(true)
    // later batches are drawn as dense rows
    const bc = takeRows(x, [20, 21], 0, 2, cache)
    expect(gatheredFrom(bc)).toBeUndefined()
    expect(same(bc.data, rowsOf(x, [20, 21]))).toBe(true)
  })

  it('epochBatches: keeps nothing of an epoch’s rows until they are drawn again', () => {
    setKernelBackend('wasm')
    // 8-bit images as loadMnist scales them (byte·(1/255)), ~20% non-zero
    const [rows, cols] = [40, 100]
    const next = lcg(5)
    const data = Float64Array.from({ length: rows * cols }, () =>
      next() < -0.3 ? Math.floor((next() + 0.5) * 255 + 1) * (1 / 255) : 0,
    )
    const x: Tensor = { shape: [rows, cols], data }
    const t: Tensor = { shape: [rows], data: Float64Array.from({ length: rows }, (_, i) => i % 10) }
    const it = epochBatches({ x, t }, { batchSize: 8, seed: 1 })[Symbol.iterator]()
    const w: Tensor = { shape: [cols, 5], data: Float64Array.from({ length: cols * 5 }, next) }
    const cache = gatheredFrom(it.next().value!.x)!.cache
    for (let epoch = 0; epoch < 3; epoch++) {
      for (let i = epoch === 0 ? 1 : 0; i < 5; i++) {
        const b = it.next().value!
        const g = gatheredFrom(b.x)!
        expect(g.cache).toBe(cache)
        expect(g.unread).toBe(epoch === 0)
        const held = heldLeft(b.x)
        try {
          expect(held.held()).not.toBeNull()
          const plain = { shape: [8, cols], data: rowsOf(x, g.pick) }
          expect(same(held.times(w).data, matmul(plain, w).data)).toBe(true)
        } finally {
          held.release()
        }
      }
      // the first epoch kept no entries; from the second on, every row's are kept
      const kept = Array.from(cache.rowAt).filter((c, i) => i % 2 === 1 && c >= 0).length
      expect(kept).toBe(epoch === 0 ? 0 : rows)
    }
  })

  it('an MNIST-sized first layer: the tape never builds the batch’s dense rows, and gets the plain bits', () => {
    setKernelBackend('wasm')
    const [m, k, n] = [100, 784, 50]
    const next = lcg(11)
    const rows = Float64Array.from({ length: (m + 3) * k }, () =>
      next() < -0.3 ? next() + 0.5 : 0,
    )
    // the data set counts reads of its data: building the batch's dense rows reads it
    let reads = 0
    const source = {
      shape: [m + 3, k],
      get data() {
        reads++
        return rows
      },
    }
    const pick = Int32Array.from({ length: m }, (_, i) => m + 2 - i)
    const x = takeRows(source, pick, 0, m, rowCache({ shape: [m + 3, k], data: rows }, true))
    expect(gatheredFrom(x)!.unread).toBe(true)
    const p = {
      W: { shape: [k, n], data: Float64Array.from({ length: k * n }, next) },
      b: { shape: [n], data: Float64Array.from({ length: n }, next) },
    }
    const f = (q: { W: Var; b: Var }, batch: Tensor) => ad.sum(ad.affine(batch, q.W, q.b, 'relu'))
    reads = 0
    const got = valueAndGrad(f)(p, x)
    expect(reads).toBe(0)
    // held from the data set, not found in the cache; the hold counted its non-zeros
    expect(gatheredFrom(x)!.unread).toBe(true)
    const plainRows = rowsOf({ shape: [m + 3, k], data: rows }, pick)
    expect(gatheredFrom(x)!.nonZeros).toBe(nonZeros(plainRows))
    expect(gatheredFrom(x)!.unread).toBe(true)
    const dense = valueAndGrad(f)(p, {
      shape: [m, k],
      data: rowsOf({ shape: [m + 3, k], data: rows }, pick),
    })
    expect(Object.is(got.value, dense.value)).toBe(true)
    expect(same(got.grad.W.data, dense.grad.W.data)).toBe(true)
    expect(same(got.grad.b.data, dense.grad.b.data)).toBe(true)
  })

  it('mlp on epochBatches: the loss and gradients of the plain batch, bit for bit', () => {
    setKernelBackend('wasm')
    const [rows, cols] = [300, 784]
    const next = lcg(17)
    const data = Float64Array.from({ length: rows * cols }, () =>
      next() < -0.3 ? Math.floor((next() + 0.5) * 255 + 1) * (1 / 255) : 0,
    )
    const labels = Float64Array.from({ length: rows * 10 }, (_, q) =>
      q % 10 === Math.floor(q / 10) % 10 ? 1 : 0,
    )
    const x: Tensor = { shape: [rows, cols], data }
    const t: Tensor = { shape: [rows, 10], data: labels }
    const net = mlp({ sizes: [cols, 32, 16, 10], seed: 0 })
    let drawn = 0
    for (const b of epochBatches({ x, t }, { batchSize: 128, seed: 2 })) {
      const g = gatheredFrom(b.x)!
      const plain = { shape: b.x.shape, data: rowsOf(x, g.pick) }
      const tPlain = { shape: b.t.shape, data: b.t.data.slice() }
      const got = net.lossAndGradient(net.params, b.x, b.t)
      const want = net.lossAndGradient(net.params, plain, tPlain)
      expect(Object.is(got.loss, want.loss)).toBe(true)
      for (const key of Object.keys(want.grad))
        expect(same(got.grad[key].data, want.grad[key].data)).toBe(true)
      if (++drawn === 6) break // two epochs of 3 batches: rows unread, then found in the cache
    }
  })
})
