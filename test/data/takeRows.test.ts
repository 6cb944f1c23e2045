import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { takeRows } from '../../src/data/batches.js'
import type { Tensor } from '../../src/tensor/tensor.js'
import { uninitializedF64 } from '../../src/tensor/uninitialized.js'

describe('takeRows (a batch’s rows, in an array that is not zeroed first)', () => {
  it('copies exactly the listed rows, for batches below and above the unzeroed size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 800 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 40 }),
        (rows, width, picks) => {
          // rows of distinct values, so a row copied to the wrong place or a stale element shows
          const src: Tensor = {
            shape: [rows, width],
            data: Float64Array.from({ length: rows * width }, (_, q) => q + 0.5),
          }
          const idx = picks.map((p) => p % rows)
          const got = takeRows(src, idx)
          expect(got.shape).toEqual([idx.length, width])
          const want: number[] = []
          for (const i of idx) for (let j = 0; j < width; j++) want.push(i * width + j + 0.5)
          expect(Array.from(got.data)).toEqual(want)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('gives each batch its own buffer, which later batches leave alone', () => {
    const src: Tensor = {
      shape: [300, 100],
      data: Float64Array.from({ length: 30000 }, (_, q) => q),
    }
    // 94 rows of 100 = 9,400 numbers: above the size whose arrays are not zeroed
    const a = takeRows(
      src,
      Array.from({ length: 94 }, (_, k) => (k * 7 + 5) % 300),
    )
    const before = Array.from(a.data)
    const b = takeRows(
      src,
      Array.from({ length: 94 }, (_, k) => 299 - k),
    )
    expect(a.data.buffer).not.toBe(b.data.buffer)
    expect(Array.from(a.data)).toEqual(before)
    expect(a.data[0]).toBe(500)
  })
})

describe('uninitializedF64', () => {
  it('is a Float64Array of the length asked, alone in its buffer when large', () => {
    for (const n of [0, 1, 8191, 8192, 78400]) {
      const a = uninitializedF64(n)
      expect(a).toBeInstanceOf(Float64Array)
      expect(a.length).toBe(n)
      expect(a.byteOffset).toBe(0)
      expect(a.buffer.byteLength).toBe(n * 8)
    }
    // small arrays are ordinary zeroed ones
    expect(Array.from(uninitializedF64(5))).toEqual([0, 0, 0, 0, 0])
  })
})
