// What the tests of batches drawn as compressed rows (gatheredRows, unreadRows) share: a data
// set whose rows are mostly zeros, the rows copied plainly as the reference, bit-for-bit
// comparison, and a seeded generator for the numbers a test makes itself.
import fc from 'fast-check'
import type { Tensor } from '../../src/index.js'
import { keepBytes, keepLabels } from '../../src/tensor/gatheredRows.js'

/** Numbers in [−0.5, 0.5) from a small LCG on a drawn seed (no Math.random). */
export function lcg(seed: number): () => number {
  let s = seed
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5
}

/**
 * A data set (rows × cols, cols ≥ 64 so that a row cache is made), each entry zero (one in ten of
 * them −0) with the drawn probability, so that some batches are sparse enough for the sparse
 * kernels (≤ 30% non-zero) and some are not. Its non-zero entries are as images and worse have
 * them: values, subnormals, the pixel level `level`, ±∞, NaN.
 */
export function sparseDataset(level: number): fc.Arbitrary<Tensor> {
  const nonZero = fc.oneof(
    { arbitrary: fc.double({ min: -1, max: 1, noNaN: true }).filter((v) => v !== 0), weight: 8 },
    { arbitrary: fc.constantFrom(5e-324, -2.5e-310, level), weight: 1 },
    { arbitrary: fc.constantFrom(Infinity, -Infinity, NaN), weight: 1 },
  )
  return fc
    .record({
      rows: fc.integer({ min: 1, max: 40 }),
      cols: fc.integer({ min: 64, max: 130 }),
      zeros: fc.constantFrom(0.5, 0.8, 0.95),
    })
    .chain(({ rows, cols, zeros }) =>
      fc
        .array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), nonZero), {
          minLength: rows * cols,
          maxLength: rows * cols,
        })
        .map((es) => {
          const data = Float64Array.from(es, ([u, v]) =>
            u < zeros ? (u < zeros / 10 ? -0 : 0) : v,
          )
          return { shape: [rows, cols], data } as Tensor
        }),
    )
}

/** The rows `idx[start..end)` of x, copied here entry by entry (the reference). */
export function rowsOf(
  x: Tensor,
  idx: ArrayLike<number>,
  start = 0,
  end = idx.length,
): Float64Array {
  const cols = x.shape[1]
  const out = new Float64Array((end - start) * cols)
  for (let k = start; k < end; k++)
    for (let j = 0; j < cols; j++) out[(k - start) * cols + j] = x.data[idx[k] * cols + j]
  return out
}

/** The same numbers, bit for bit (Object.is: −0 ≠ 0, NaN = NaN). */
export const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean =>
  a.length === b.length &&
  Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]))

/** A data set of mostly-zero rows (images: ~19% non-zero, bytes·(1/255)) and one-hot targets. */
export function images(seed: number, n: number) {
  let s = seed
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const x = new Float64Array(n * 784)
  for (let i = 0; i < x.length; i++) if (next() < 0.19) x[i] = Math.ceil(next() * 255) * (1 / 255)
  const t = new Float64Array(n * 10)
  for (let i = 0; i < n; i++) t[i * 10 + Math.floor(next() * 10)] = 1
  return { x: { shape: [n, 784], data: x }, t: { shape: [n, 10], data: t } }
}

/**
 * A data set of images as loadMnist makes them (bytes·(1/255), one-hot targets over 10 classes),
 * drawn from `lcg(seed)`: `make()` gives fresh numbers each call (a data set not kept as bytes),
 * `makeKept()` the same numbers noted with their bytes and labels (keepBytes / keepLabels).
 */
export function byteImages(rows: number, cols: number, seed: number) {
  const next = lcg(seed)
  const bytes = Uint8Array.from({ length: rows * cols }, () =>
    next() < -0.3 ? 1 + Math.floor((next() + 0.5) * 255) : 0,
  )
  const labels = Uint8Array.from({ length: rows }, () => Math.floor((next() + 0.5) * 10))
  const make = () => ({
    x: { shape: [rows, cols], data: Float64Array.from(bytes, (b) => b * (1 / 255)) },
    t: {
      shape: [rows, 10],
      data: Float64Array.from({ length: rows * 10 }, (_, q) =>
        labels[Math.floor(q / 10)] === q % 10 ? 1 : 0,
      ),
    },
  })
  const makeKept = () => {
    const set = make()
    keepBytes(set.x.data, bytes, { mul: 1 / 255, div: 1 })
    keepLabels(set.t.data, labels)
    return set
  }
  return { make, makeKept }
}
