import { describe, expect, it } from 'vitest'
import { parseIdx } from '../../src/data/parseIdx.js'
import { idxBytes } from './idxFixtures.js'

describe('parseIdx', () => {
  it('reads the doc example: a 2×3 ubyte matrix', () => {
    const bytes = Uint8Array.of(0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6)
    const a = parseIdx(bytes, 'm.idx')
    expect(a.type).toBe('ubyte')
    expect(a.shape).toEqual([2, 3])
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('decodes big-endian shorts, ints, floats and doubles', () => {
    // 0x0102 = 258, 0xfffe = -2 as int16
    expect(Array.from(parseIdx(idxBytes(0x0b, [2], [1, 2, 0xff, 0xfe]), 's').data)).toEqual([
      258, -2,
    ])
    // 0x00010000 = 65536, 0xffffffff = -1
    expect(
      Array.from(parseIdx(idxBytes(0x0c, [2], [0, 1, 0, 0, 255, 255, 255, 255]), 'i').data),
    ).toEqual([65536, -1])
    // float32 1.5 = 0x3fc00000
    expect(Array.from(parseIdx(idxBytes(0x0d, [1], [0x3f, 0xc0, 0, 0]), 'f').data)).toEqual([1.5])
    // float64 -2 = 0xc000000000000000
    expect(
      Array.from(parseIdx(idxBytes(0x0e, [1], [0xc0, 0, 0, 0, 0, 0, 0, 0]), 'd').data),
    ).toEqual([-2])
    expect(Array.from(parseIdx(idxBytes(0x09, [2], [0x7f, 0x80]), 'b').data)).toEqual([127, -128])
  })

  it('accepts a rank-0 file (one element) and an empty dimension', () => {
    expect(parseIdx(idxBytes(0x08, [], [9]), 'x').shape).toEqual([])
    expect(parseIdx(idxBytes(0x08, [0, 28], []), 'x').data.length).toBe(0)
  })

  it('rejects a foreign file by its magic number, naming the file', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
    expect(() => parseIdx(png, 'picture.png')).toThrow(
      new RangeError(
        'parseIdx: picture.png: magic number: expected 0x0000 followed by a type code (0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e) and a rank, got 0x89504e47',
      ),
    )
    // zero bytes but an unknown type code 0x07
    expect(() => parseIdx(idxBytes(0x07, [1], [0]), 'odd.idx')).toThrow(
      'parseIdx: odd.idx: magic number: expected 0x0000 followed by a type code (0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e) and a rank, got 0x00000701',
    )
  })

  it('rejects a file of the wrong type or rank when the caller says what it needs', () => {
    const labels = idxBytes(0x08, [2], [1, 2])
    expect(() => parseIdx(labels, 'labels.idx', { rank: 3 })).toThrow(
      new RangeError(
        'parseIdx: labels.idx: magic number: expected 0x00000803 (ubyte, rank 3), got 0x00000801 (ubyte, rank 1)',
      ),
    )
    expect(() => parseIdx(labels, 'labels.idx', { type: 'float', rank: 1 })).toThrow(
      'parseIdx: labels.idx: magic number: expected 0x00000d01 (float, rank 1), got 0x00000801 (ubyte, rank 1)',
    )
  })

  it('rejects a file shorter than its header', () => {
    expect(() => parseIdx(Uint8Array.of(0, 0), 'tiny')).toThrow(
      new RangeError('parseIdx: tiny: header: expected at least 4 bytes, got 2 bytes'),
    )
    expect(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 1), 'head')).toThrow(
      'parseIdx: head: header: expected 16 bytes for rank 3, got 8 bytes (truncated)',
    )
  })

  it('rejects a truncated body and trailing bytes, with the sizes', () => {
    const full = idxBytes(0x08, [1, 28, 28], new Array(784).fill(0))
    expect(() => parseIdx(full.subarray(0, 700), 'cut.idx')).toThrow(
      new RangeError(
        'parseIdx: cut.idx: length: expected 16 + 784 = 800 bytes for ubyte dimensions [1,28,28], got 700 (truncated)',
      ),
    )
    const longer = Uint8Array.from([...full, 0])
    expect(() => parseIdx(longer, 'long.idx')).toThrow(
      'parseIdx: long.idx: length: expected 16 + 784 = 800 bytes for ubyte dimensions [1,28,28], got 801 (trailing bytes)',
    )
    // an int file whose body is 4 bytes short of 2 elements
    expect(() => parseIdx(idxBytes(0x0c, [2], [0, 0, 0, 1]), 'ints')).toThrow(
      'parseIdx: ints: length: expected 8 + 8 = 16 bytes for int dimensions [2], got 12 (truncated)',
    )
  })

  it('returns a view for ubyte data and leaves the input unchanged', () => {
    const bytes = idxBytes(0x08, [3], [7, 8, 9])
    const before = Array.from(bytes)
    const a = parseIdx(bytes, 'v')
    expect(a.data.buffer).toBe(bytes.buffer)
    expect(Array.from(bytes)).toEqual(before)
  })
})
