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
})
