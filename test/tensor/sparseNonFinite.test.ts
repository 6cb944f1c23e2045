import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { fromData, setKernelBackend } from 'gradstream'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'

/**
 * An MNIST-like sparse left operand times weights that hold NaN and ∞ (a diverged run): the
 * sparse kernels must not hide them. The expected rows come from NumPy:
 *
 *   python3 -c "import numpy as np
 *   A=np.zeros((64,784)); A.flat[5]=1; A.flat[784*3+7]=2
 *   B=np.arange(784*50,dtype=float).reshape(784,50)/1000; B.flat[0]=np.nan; B.flat[1]=np.inf
 *   C=A@B; print(C[0,:3].tolist(), C[3,:3].tolist(), C[10,:3].tolist())"
 *   → [nan, nan, 0.252] [nan, nan, 0.704] [nan, nan, 0.0]
 */
function operands() {
  const A = new Float64Array(64 * 784)
  A[5] = 1
  A[784 * 3 + 7] = 2
  const B = Float64Array.from({ length: 784 * 50 }, (_, i) => i / 1000)
  B[0] = NaN
  B[1] = Infinity
  return { a: fromData([64, 784], A), b: fromData([784, 50], B) }
}

const rowsOf = (data: Float64Array, row: number) => [...data.subarray(row * 50, row * 50 + 3)]

describe('sparse products with a non-finite right operand', () => {
  afterAll(() => setKernelBackend('auto'))

  for (const backend of ['js', 'wasm'] as const) {
    it(`matmul shows NaN from 0·NaN and 0·∞ as NumPy does (${backend})`, () => {
      setKernelBackend(backend)
      const { a, b } = operands()
      const c = matmul(a, b)
      expect(rowsOf(c.data, 0)).toEqual([NaN, NaN, 0.252])
      expect(rowsOf(c.data, 3)).toEqual([NaN, NaN, 0.704])
      expect(rowsOf(c.data, 10)).toEqual([NaN, NaN, 0])
    })

    it(`a held left operand gives the same (${backend})`, () => {
      setKernelBackend(backend)
      const { a, b } = operands()
      const held = heldLeft(a)
      try {
        const c = held.times(b)
        expect(rowsOf(c.data, 0)).toEqual([NaN, NaN, 0.252])
        expect(rowsOf(c.data, 10)).toEqual([NaN, NaN, 0])
      } finally {
        held.release()
      }
    })
  }

  // The wasm kernels check B on their copy of it, in blocks of eight with a scalar tail: one
  // non-finite entry anywhere (block or tail) must send the product dense. Then every row of
  // C has a non-finite term in that entry's column (0·∞ and 0·NaN are NaN, a·∞ is ±∞ or NaN),
  // and the other columns, all of whose terms are finite, stay finite.
  for (const backend of ['js', 'wasm'] as const) {
    it(`one non-finite entry anywhere in B reaches its whole column of C (${backend})`, () => {
      setKernelBackend(backend)
      fc.assert(
        fc.property(
          fc.integer({ min: 20, max: 90 }),
          fc.integer({ min: 4, max: 13 }),
          fc.nat(),
          fc.constantFrom(NaN, Infinity, -Infinity),
          fc.integer({ min: 0, max: 2 ** 30 }),
          (k, n, at, bad, seed) => {
            let s = seed
            const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
            const m = 24
            const A = Float64Array.from({ length: m * k }, () => (next() < 0.1 ? next() + 0.5 : 0))
            const B = Float64Array.from({ length: k * n }, () => next() - 0.5)
            const q = at % (k * n)
            B[q] = bad
            const col = q % n
            const a = fromData([m, k], A)
            const b = fromData([k, n], B)
            // the entries whose finiteness is wrong, as [row, column] (expected: none)
            const check = (c: Float64Array, rows: number) => {
              const wrong: number[][] = []
              for (let i = 0; i < rows; i++)
                for (let j = 0; j < n; j++)
                  if (Number.isFinite(c[i * n + j]) !== (j !== col)) wrong.push([i, j])
              expect(wrong).toEqual([])
            }
            check(matmul(a, b).data, m)
            const held = heldLeft(a)
            try {
              check(held.times(b).data, m)
              // aᵀ·D with the bad entry in D (m×n): every row of aᵀ·D, a column of a, sums
              // over all m rows of D, so column `col` is non-finite throughout as well
              const D = Float64Array.from({ length: m * n }, () => next() - 0.5)
              D[(at % m) * n + col] = bad
              check(held.transposeTimes(fromData([m, n], D)).data, k)
            } finally {
              held.release()
            }
          },
        ),
      )
    })
  }
})
