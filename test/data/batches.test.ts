import fc from 'fast-check'
import { take, toArray as collect } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { batchesPerEpoch, epochBatches } from '../../src/data/epochBatches.js'
import { randomBatches } from '../../src/data/randomBatches.js'
import type { Batch, Batches } from '../../src/data/batches.js'
import type { Tensor } from '../../src/tensor/tensor.js'

/** n examples whose x row i is [i, 10 i] and whose target is i, so a batch shows which rows it took. */
const dataset = (n: number) => ({
  x: {
    shape: [n, 2],
    data: Float64Array.from({ length: 2 * n }, (_, k) => (k % 2 ? 10 : 1) * Math.floor(k / 2)),
  } as Tensor,
  t: { shape: [n], data: Float64Array.from({ length: n }, (_, i) => i) } as Tensor,
})

const first = (source: Batches, k: number): Batch[] => {
  const out: Batch[] = []
  for (const b of source) {
    out.push(b)
    if (out.length === k) break
  }
  return out
}
const ids = (b: Batch) => Array.from(b.t.data)

describe('randomBatches', () => {
  it('draws rows with their own targets, the same for the same seed', () => {
    const data = dataset(50)
    const a = first(randomBatches(data, { batchSize: 8, seed: 3 }), 4)
    const b = first(randomBatches(data, { batchSize: 8, seed: 3 }), 4)
    const c = first(randomBatches(data, { batchSize: 8, seed: 4 }), 4)
    expect(a.map(ids)).toEqual(b.map(ids))
    expect(a.map(ids)).not.toEqual(c.map(ids))
    for (const batch of a) {
      expect(batch.x.shape).toEqual([8, 2])
      ids(batch).forEach((i, r) =>
        expect([batch.x.data[2 * r], batch.x.data[2 * r + 1]]).toEqual([i, 10 * i]),
      )
    }
  })

  it('samples uniformly with replacement, as np.random.choice(n, k)', () => {
    // 5 rows, batches of 10: by pigeonhole every batch repeats a row (with replacement).
    const counts = new Array(5).fill(0)
    for (const b of first(randomBatches(dataset(5), { batchSize: 10, seed: 11 }), 200)) {
      expect(new Set(ids(b)).size).toBeLessThan(10)
      for (const i of ids(b)) counts[i]++
    }
    // 2000 draws, each count ~ Binomial(2000, 1/5): mean 400, sd √(2000·0.2·0.8) ≈ 17.9;
    // 5 sd either side (80) fails a correct sampler with probability < 1e-5.
    for (const c of counts) expect(Math.abs(c - 400)).toBeLessThan(90)
  })

  it('is an Observable that stops drawing when the subscriber has enough', () => {
    let got: Batch[] = []
    randomBatches(dataset(10), { batchSize: 2, seed: 1 })
      .pipe(take(3), collect())
      .subscribe((bs) => (got = bs))
    expect(got.map((b) => b.position.drawn)).toEqual([1, 2, 3])
  })

  it('resumes from a batch position, through JSON, exactly', () => {
    const data = dataset(20)
    const run = first(randomBatches(data, { batchSize: 4, seed: 9 }), 6)
    const from = JSON.parse(JSON.stringify(run[2].position))
    const resumed = first(randomBatches(data, { batchSize: 4, seed: 0, from }), 3)
    expect(resumed.map(ids)).toEqual(run.slice(3).map(ids))
    expect(resumed.map((b) => b.position)).toEqual(run.slice(3).map((b) => b.position))
  })

  it('validates its arguments when built', () => {
    const data = dataset(4)
    expect(() => randomBatches(data, { batchSize: 0, seed: 1 })).toThrow(
      new RangeError('randomBatches: batchSize: expected a positive integer, got 0'),
    )
    expect(() => randomBatches({ x: data.x, t: dataset(3).t }, { batchSize: 1, seed: 1 })).toThrow(
      'randomBatches: data.t: expected 4 rows (as data.x [4,2]), got shape [3]',
    )
    expect(() => randomBatches(data, { batchSize: 1, seed: 0.5 })).toThrow(
      'randomBatches: seed: expected an integer in [-2147483648, 4294967295], got 0.5',
    )
    const epochPos = first(epochBatches(data, { batchSize: 1, seed: 1 }), 1)[0].position
    expect(() => randomBatches(data, { batchSize: 1, seed: 1, from: epochPos })).toThrow(
      'randomBatches: from.sampler: expected "random", got "epoch"',
    )
  })
})

describe('epochBatches', () => {
  it('deals every example exactly once per epoch, the last batch smaller', () => {
    const batches = first(epochBatches(dataset(10), { batchSize: 3, seed: 5 }), 8)
    expect(batches.map((b) => b.t.shape[0])).toEqual([3, 3, 3, 1, 3, 3, 3, 1])
    for (const epoch of [batches.slice(0, 4), batches.slice(4, 8)]) {
      expect(epoch.flatMap(ids).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }
    // two epochs are shuffled independently (equal orders: probability 1/10!)
    expect(batches.slice(0, 4).flatMap(ids)).not.toEqual(batches.slice(4).flatMap(ids))
    expect(
      batches.map((b) => b.position.sampler === 'epoch' && [b.position.epoch, b.position.index]),
    ).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
      [1, 1],
      [1, 2],
      [1, 3],
      [1, 4],
    ])
  })

  it('drops the smaller last batch with dropLast', () => {
    const batches = first(epochBatches(dataset(10), { batchSize: 3, seed: 5, dropLast: true }), 6)
    expect(batches.map((b) => b.t.shape[0])).toEqual([3, 3, 3, 3, 3, 3])
    expect(new Set(batches.slice(0, 3).flatMap(ids)).size).toBe(9)
  })

  it('counts batches per epoch as the book (600 for 60,000 at 100)', () => {
    expect(batchesPerEpoch(60000, 100)).toBe(600)
    expect(batchesPerEpoch(10, 3)).toBe(4)
    expect(batchesPerEpoch(10, 3, true)).toBe(3)
    expect(batchesPerEpoch(2, 5, true)).toBe(1)
  })

  it('resumes from any batch position exactly, mid-epoch or at its end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 10 }),
        fc.boolean(),
        (n, batchSize, seed, k, dropLast) => {
          const data = dataset(n)
          const run = first(epochBatches(data, { batchSize, seed, dropLast }), k + 4)
          const from = JSON.parse(JSON.stringify(run[k].position))
          const resumed = first(epochBatches(data, { batchSize, seed: 1, dropLast, from }), 3)
          expect(resumed.map(ids)).toEqual(run.slice(k + 1).map(ids))
          expect(resumed.map((b) => b.position)).toEqual(run.slice(k + 1).map((b) => b.position))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('validates its arguments when built', () => {
    expect(() => epochBatches(dataset(3), { batchSize: 1.5, seed: 1 })).toThrow(
      new RangeError('epochBatches: batchSize: expected a positive integer, got 1.5'),
    )
  })
})
