import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadWasm } from '../../src/tensor/kernels/wasmKernels.js'

// gemmCsrOff (assembly/gemm.ts) multiplies a CSR S (m×k) by B (k×n, rows ldb ≥ n numbers apart)
// naming each entry's row of B by its byte offset (csrOffsets: column·ldb·8). Each entry of C is
// ((0 + s₁·b₁) + s₂·b₂) + … over the row's entries in column order, each product and sum rounded
// (wasm fuses nothing): the plain triple loop over every column in order sums the same terms in
// the same order plus terms 0·b = ±0, which leave a sum as it was for a finite B (a sum that
// starts at +0 is never −0), so the comparison is bit for bit (Object.is).

const w = loadWasm()
const AT = 1 << 16

/** A CSR drawn with its dense form: m rows of k columns, about `density` of them non-zero. */
const problem = fc
  .record({
    m: fc.integer({ min: 1, max: 40 }),
    k: fc.integer({ min: 1, max: 90 }),
    // every tail of the kernel's column groups (14, 8, 2, 1), W3's 50 and padded widths
    n: fc.oneof(fc.integer({ min: 1, max: 31 }), fc.constantFrom(50, 64)),
    pad: fc.constantFrom(0, 0, 1, 4),
    density: fc.constantFrom(0, 0.1, 0.3, 1),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .map(({ m, k, n, pad, density, seed }) => {
    let s = seed
    const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const S = Float64Array.from({ length: m * k }, () => (next() < density ? next() * 4 - 2 : 0))
    const ldb = n + pad
    const B = Float64Array.from({ length: k * ldb }, () => next() * 4 - 2)
    return { m, k, n, ldb, S, B }
  })

/** C = S·B by the ordered triple loop over the dense S (B's rows ldb apart). */
function tripleLoop(
  S: Float64Array,
  B: Float64Array,
  m: number,
  k: number,
  n: number,
  ldb: number,
) {
  const C = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let p = 0; p < k; p++) sum += S[i * k + p] * B[p * ldb + j]
      C[i * n + j] = sum
    }
  return C
}

describe.skipIf(w === null)('gemmCsrOff: a CSR times B, rows of B named by byte offsets', () => {
  it('equals the ordered triple loop bit for bit', () => {
    fc.assert(
      fc.property(problem, ({ m, k, n, ldb, S, B }) => {
        const nnzMax = m * k
        // the layout, each part 16-byte aligned: rowPtr, colIdx, vals, offsets, B, C
        const at = (from: number, bytes: number) => (from + bytes + 15) & ~15
        const rp = AT
        const ci = at(rp, 4 * (m + 1))
        const v = at(ci, 4 * nnzMax)
        const off = at(v, 8 * nnzMax)
        const b = at(off, 4 * nnzMax)
        const c = at(b, 8 * k * ldb)
        const need = c + 8 * m * n
        const have = w!.memory.buffer.byteLength
        if (need > have) w!.memory.grow(Math.ceil((need - have) / 65536))
        const I = new Int32Array(w!.memory.buffer)
        const F = new Float64Array(w!.memory.buffer)
        let q = 0
        I[rp >> 2] = 0
        for (let i = 0; i < m; i++) {
          for (let p = 0; p < k; p++) {
            if (S[i * k + p] === 0) continue
            I[(ci >> 2) + q] = p
            F[(v >> 3) + q] = S[i * k + p]
            q++
          }
          I[(rp >> 2) + i + 1] = q
        }
        F.set(B, b >> 3)
        F.fill(NaN, c >> 3, (c >> 3) + m * n)
        w!.csrOffsets(ci, off, q, ldb * 8)
        for (let e = 0; e < q; e++) expect(I[(off >> 2) + e]).toBe(I[(ci >> 2) + e] * ldb * 8)
        w!.gemmCsrOff(rp, off, v, b, c, m, n)
        const got = F.slice(c >> 3, (c >> 3) + m * n)
        const want = tripleLoop(S, B, m, k, n, ldb)
        const differ = [...want.keys()].filter((e) => !Object.is(got[e], want[e]))
        expect(differ).toEqual([])
      }),
      { numRuns: 200 },
    )
  })
})
