import { ShapeError, showShape } from '../errors.js'
import type { Tensor } from './tensor.js'

/**
 * The matrix product, with NumPy's `np.dot` rules for vectors: `[m,k]·[k,n] → [m,n]`,
 * `[k]·[k,n] → [n]`, `[m,k]·[k] → [m]`, `[k]·[k] → []`.
 *
 * @example
 * ```ts
 * matmul(tensor([0.6, 0.9]), tensor([[1, 2, 3], [4, 5, 6]])) // [4.2, 5.7, 7.2]
 * ```
 * @throws {ShapeError} `matmul: shapes [2,3] and [4,1] do not align`
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const ra = a.shape.length
  const rb = b.shape.length
  if (ra < 1 || ra > 2 || rb < 1 || rb > 2) {
    throw new ShapeError(
      `matmul: expected vectors or matrices, got shapes ${showShape(a.shape)} and ${showShape(b.shape)}`,
    )
  }
  const m = ra === 2 ? a.shape[0] : 1
  const k = a.shape[ra - 1]
  const kb = b.shape[0]
  const n = rb === 2 ? b.shape[1] : 1
  if (k !== kb) {
    throw new ShapeError(
      `matmul: shapes ${showShape(a.shape)} and ${showShape(b.shape)} do not align`,
    )
  }
  const out = new Float64Array(m * n)
  gemm(a.data, b.data, out, m, k, n)
  const shape = ra === 2 ? (rb === 2 ? [m, n] : [m]) : rb === 2 ? [n] : []
  return { shape, data: out }
}

/** out[m×n] = A[m×k] · B[k×n], all row-major; i-k-j order so the inner loop runs along rows. */
export function gemm(
  A: Float64Array,
  B: Float64Array,
  out: Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  out.fill(0, 0, m * n)
  for (let i = 0; i < m; i++) {
    const oi = i * n
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p]
      const bp = p * n
      for (let j = 0; j < n; j++) out[oi + j] += aip * B[bp + j]
    }
  }
}

/**
 * Swaps the two axes of a matrix; a vector or rank-0 tensor comes back unchanged (as NumPy's
 * `.T`).
 *
 * @example
 * ```ts
 * transpose(tensor([[1, 2, 3], [4, 5, 6]])) // [[1, 4], [2, 5], [3, 6]]
 * ```
 */
export function transpose(t: Tensor): Tensor {
  if (t.shape.length < 2) return { shape: [...t.shape], data: t.data.slice() }
  if (t.shape.length > 2) {
    throw new ShapeError(`transpose: expected a matrix, got shape ${showShape(t.shape)}`)
  }
  const [m, n] = t.shape
  const out = new Float64Array(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = t.data[i * n + j]
  return { shape: [n, m], data: out }
}
