/** The sparse kernel is used when at most this share of `op(A)` is non-zero (measured). */
export const SPARSE_MAX_DENSITY = 0.3

/**
 * Pure-TypeScript matrix-product kernels: the fallback when WebAssembly SIMD is unavailable and
 * the path for products too small to repay the copy into wasm memory.
 *
 * Every kernel computes `C = op(A)·op(B)` (overwriting `C`), where `op(A)` is `m×k` and `op(B)`
 * is `k×n`, all row-major. `A` is stored `m×k`, or `k×m` when `transA`; `B` is stored `k×n`, or
 * `n×k` when `transB`. Each element of `C` is summed over `p = 0 … k−1` in order starting from
 * `+0`, exactly as the reference triple loop does, so dense results are bitwise those of
 * `for i, j: for p: c += a[i][p]·b[p][j]`.
 *
 * The sparse kernel skips zero entries of `op(A)`. Since `x + (±0) = x` for every `x` (and
 * `+0 + −0 = +0`), skipping `0·b` leaves the sum unchanged whenever `b` is finite. It differs
 * only when a skipped `0` meets an infinite or NaN `b`: the dense product gives NaN there
 * (`0·∞ = NaN`), the sparse one does not. Training data and weights are finite, so that edge is
 * documented rather than paid for.
 */

/**
 * Dense `C = op(A)·op(B)`, register-blocked 4×4: sixteen running sums stay in registers while
 * `p` walks the shared dimension, so each loaded element of `A` and `B` is used four times.
 */
export function gemmDenseJs(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  // op(A)(i, p) = A[i*sai + p*sap]; op(B)(p, j) = B[p*sbp + j*sbj]
  const sai = transA ? 1 : k
  const sap = transA ? m : 1
  const sbp = transB ? 1 : n
  const sbj = transB ? k : 1
  const m4 = m - (m % 4)
  const n4 = n - (n % 4)
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * sai
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0
      let ia = a0
      let ib = j * sbj
      for (let p = 0; p < k; p++) {
        const x0 = A[ia],
          x1 = A[ia + sai],
          x2 = A[ia + 2 * sai],
          x3 = A[ia + 3 * sai]
        const y0 = B[ib],
          y1 = B[ib + sbj],
          y2 = B[ib + 2 * sbj],
          y3 = B[ib + 3 * sbj]
        c00 += x0 * y0
        c01 += x0 * y1
        c02 += x0 * y2
        c03 += x0 * y3
        c10 += x1 * y0
        c11 += x1 * y1
        c12 += x1 * y2
        c13 += x1 * y3
        c20 += x2 * y0
        c21 += x2 * y1
        c22 += x2 * y2
        c23 += x2 * y3
        c30 += x3 * y0
        c31 += x3 * y1
        c32 += x3 * y2
        c33 += x3 * y3
        ia += sap
        ib += sbp
      }
      let o = i * n + j
      C[o] = c00
      C[o + 1] = c01
      C[o + 2] = c02
      C[o + 3] = c03
      o += n
      C[o] = c10
      C[o + 1] = c11
      C[o + 2] = c12
      C[o + 3] = c13
      o += n
      C[o] = c20
      C[o + 1] = c21
      C[o + 2] = c22
      C[o + 3] = c23
      o += n
      C[o] = c30
      C[o + 1] = c31
      C[o + 2] = c32
      C[o + 3] = c33
    }
    for (let j = n4; j < n; j++) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0
      let ia = a0
      let ib = j * sbj
      for (let p = 0; p < k; p++) {
        const y = B[ib]
        c0 += A[ia] * y
        c1 += A[ia + sai] * y
        c2 += A[ia + 2 * sai] * y
        c3 += A[ia + 3 * sai] * y
        ia += sap
        ib += sbp
      }
      const o = i * n + j
      C[o] = c0
      C[o + n] = c1
      C[o + 2 * n] = c2
      C[o + 3 * n] = c3
    }
  }
  for (let i = m4; i < m; i++) {
    const a0 = i * sai
    for (let j = 0; j < n4; j += 4) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0
      let ia = a0
      let ib = j * sbj
      for (let p = 0; p < k; p++) {
        const x = A[ia]
        c0 += x * B[ib]
        c1 += x * B[ib + sbj]
        c2 += x * B[ib + 2 * sbj]
        c3 += x * B[ib + 3 * sbj]
        ia += sap
        ib += sbp
      }
      const o = i * n + j
      C[o] = c0
      C[o + 1] = c1
      C[o + 2] = c2
      C[o + 3] = c3
    }
    for (let j = n4; j < n; j++) {
      let c = 0
      let ia = a0
      let ib = j * sbj
      for (let p = 0; p < k; p++) {
        c += A[ia] * B[ib]
        ia += sap
        ib += sbp
      }
      C[i * n + j] = c
    }
  }
}

/** Compressed sparse rows: row `i`'s entries are `q ∈ [rowPtr[i], rowPtr[i+1])`. */
export interface Csr {
  rowPtr: Int32Array
  colIdx: Int32Array
  vals: Float64Array
}

/**
 * Compresses the rows of `A` (`rows×cols`, as stored) into `csr`, keeping entries `≠ 0` (NaN
 * kept, ±0 dropped), and returns their count, or −1 once more than `maxNnz` are found. The copy
 * is branch-free (every entry is written at the cursor, which moves past non-zeros only), so
 * `colIdx` and `vals` need `maxNnz + cols` slots and `rowPtr` needs `rows + 1`.
 */
export function buildCsr(
  A: Float64Array,
  rows: number,
  cols: number,
  maxNnz: number,
  csr: Csr,
): number {
  const { rowPtr, colIdx, vals } = csr
  let nnz = 0
  let q = 0
  rowPtr[0] = 0
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < cols; p++) {
      const v = A[q++]
      colIdx[nnz] = p
      vals[nnz] = v
      nnz += v !== 0 ? 1 : 0
    }
    rowPtr[i + 1] = nnz
    if (nnz > maxNnz) return -1
  }
  return nnz
}

/**
 * `C = Sᵀ·B` for `S` (`k×m`) in `csr` and `B` (`k×n`): for each row `p` of `S` and each entry
 * `(i, v)`, `C[i, :] += v·B[p, :]`, so each `C[i, j]` still sums over `p` in increasing order.
 * This is the backward `xᵀ·δ` without transposing `x`.
 */
export function gemmSparseTJs(
  csr: Csr,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  const { rowPtr, colIdx, vals } = csr
  C.fill(0, 0, m * n)
  for (let p = 0; p < k; p++) {
    const bp = p * n
    for (let q = rowPtr[p]; q < rowPtr[p + 1]; q++) {
      const v = vals[q]
      const o = colIdx[q] * n
      for (let j = 0; j < n; j++) C[o + j] += v * B[bp + j]
    }
  }
}

/**
 * `C = S·B` for `S` (`m×k`) in `csr` and `B` (`k×n`): for each row of `S`, four columns of `C`
 * at a time accumulate `v·B[p, j…j+3]` over the row's non-zeros only.
 */
export function gemmSparseJs(
  csr: Csr,
  B: Float64Array,
  C: Float64Array,
  m: number,
  n: number,
): void {
  const Bn = B
  const { rowPtr, colIdx, vals } = csr
  const n4 = n - (n % 4)
  for (let i = 0; i < m; i++) {
    const s = rowPtr[i]
    const e = rowPtr[i + 1]
    const o = i * n
    for (let j = 0; j < n4; j += 4) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0
      for (let q = s; q < e; q++) {
        const v = vals[q]
        const b = colIdx[q] * n + j
        c0 += v * Bn[b]
        c1 += v * Bn[b + 1]
        c2 += v * Bn[b + 2]
        c3 += v * Bn[b + 3]
      }
      C[o + j] = c0
      C[o + j + 1] = c1
      C[o + j + 2] = c2
      C[o + j + 3] = c3
    }
    for (let j = n4; j < n; j++) {
      let c = 0
      for (let q = s; q < e; q++) c += vals[q] * Bn[colIdx[q] * n + j]
      C[o + j] = c
    }
  }
}
