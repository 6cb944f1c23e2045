import { expect } from 'vitest'
import type { Tensor } from '../../src/index.js'

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

/** Values from a linear congruential stream seeded by fast-check, about `density` non-zero. */
export function filled(len: number, density: number, seed: number): Float64Array {
  let s = seed >>> 0
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
  return Float64Array.from({ length: len }, () => (next() < density ? next() * 200 - 100 : 0))
}

/**
 * A sum of k products in any order, each product and addition rounded once, is within
 * γₖ·Σ|a·b| of the exact sum, γₖ = k·u / (1 − k·u), u = 2⁻⁵³ (Higham, §3.1); the reference is
 * bounded the same way, so the two differ by at most 2·γₖ·Σ|a·b|.
 */
export function expectMatches(
  got: Float64Array,
  ref: { C: Float64Array; mag: Float64Array },
  k: number,
): void {
  const u = 2 ** -53
  const gamma = (k * u) / (1 - k * u)
  expect(got.length).toBe(ref.C.length)
  for (let q = 0; q < ref.C.length; q++) {
    const ok = Object.is(got[q], ref.C[q]) || Math.abs(got[q] - ref.C[q]) <= 2 * gamma * ref.mag[q]
    if (!ok) expect.fail(`[${q}]: got ${got[q]}, expected ${ref.C[q]} (Σ|ab| ${ref.mag[q]})`)
  }
}

/**
 * Aᵀ·B by the textbook loop, each entry summed over p = 0 … m−1 in order from +0 with a rounded
 * multiply and a rounded add (written anew here). The kernels sum the same non-zero terms in the
 * same order (a zero of A skipped, or a pair's 0·b for the row without an entry added: +0 or −0
 * added to a sum that is never −0 leaves it as it is, for a finite b), so for a finite B their
 * result is this loop's bit for bit, NaN and ±∞ of A included — no tolerance needed.
 */
export function transposeTimes(a: Tensor, b: Tensor): Float64Array {
  const [m, k] = a.shape
  const n = b.shape[1]
  const c = new Float64Array(k * n)
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < m; p++) s += a.data[p * k + i] * b.data[p * n + j]
      c[i * n + j] = s
    }
  return c
}
