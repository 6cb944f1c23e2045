/**
 * The reference for the product kernels' tests, written anew (it shares no code with the
 * kernels): C = op(A)·op(B) by the textbook triple loop. op(A)(i, p) is A[i·k + p], or A[p·m + i]
 * when transA (A stored k×m); op(B)(p, j) likewise. Returns the products and, per element, the
 * sum of |products| Σₚ|a·b| that bounds rounding.
 */
export function reference(
  A: Float64Array,
  B: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
) {
  const C = new Float64Array(m * n)
  const mag = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      let t = 0
      for (let p = 0; p < k; p++) {
        const a = transA ? A[p * m + i] : A[i * k + p]
        const b = transB ? B[j * k + p] : B[p * n + j]
        s += a * b
        t += Math.abs(a * b)
      }
      C[i * n + j] = s
      mag[i * n + j] = t
    }
  return { C, mag }
}
