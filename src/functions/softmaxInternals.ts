import { pairwiseSum } from '../tensor/reduce.js'

/**
 * softmax's arithmetic on `rows` rows of `width` numbers: row r of `x` (from `x[r·width]`) into
 * `out` at the same place; `e` holds one row's exponentials (`width` numbers). `out` may be `x`.
 */
export function softmaxRowsInto(
  x: Float64Array,
  out: Float64Array,
  rows: number,
  width: number,
  e: Float64Array,
): void {
  for (let r = 0; width > 0 && r < rows; r++) {
    const o = r * width
    let m = -Infinity
    for (let j = 0; j < width; j++) {
      const v = x[o + j]
      if (v > m || Number.isNaN(v)) m = v
      if (Number.isNaN(m)) break
    }
    for (let j = 0; j < width; j++) e[j] = Math.exp(x[o + j] - m)
    const s = pairwiseSum(e, 0, width)
    for (let j = 0; j < width; j++) out[o + j] = e[j] / s
  }
}
