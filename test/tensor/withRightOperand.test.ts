import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { ad, valueAndGrad, type Tensor, type Var } from 'gradstream'
import { withRightOperand } from '../../src/tensor/kernels/gemmKernel.js'
import { setKernelBackend } from '../../src/tensor/kernels/setKernelBackend.js'
import { residentStats } from '../../src/tensor/kernels/wasmKernels.js'
import { heldLeft, matmul } from '../../src/tensor/linalg.js'
import { filled } from '../helpers/referenceGemm.js'

// withRightOperand places a right operand B once in wasm memory for the held products run inside
// it (mlp's logits: x·W1 for each block of rows); they read it there, and every other layout —
// other products, holds, a tape's arena — lies above it. Invisible in the numbers: each product
// equals matmul on the same operands bit for bit (the same kernel on the same padded rows), a
// non-finite B goes dense as before, and after it layouts start from the bottom again.

const same = (a: Float64Array, b: Float64Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

describe('withRightOperand (a right operand placed once for many held products)', () => {
  afterAll(() => setKernelBackend('auto'))

  it('wasm: every held product with it, and every other product between, equals matmul bit for bit', () => {
    setKernelBackend('wasm')
    let reads = 0
    fc.assert(
      fc.property(
        fc.record({
          blocks: fc.array(fc.integer({ min: 8, max: 60 }), { minLength: 1, maxLength: 4 }),
          k: fc.integer({ min: 32, max: 90 }),
          n: fc.oneof(fc.constantFrom(32, 64, 128), fc.integer({ min: 4, max: 45 })),
          nonFinite: fc.constantFrom(0, 0, 0, NaN, Infinity),
          seed: fc.integer(),
        }),
        ({ blocks, k, n, nonFinite, seed }) => {
          const B: Tensor = { shape: [k, n], data: filled(k * n, 1, seed) }
          if (nonFinite !== 0) B.data[(seed >>> 0) % (k * n)] = nonFinite
          const uses = residentStats.uses
          let expected = 0
          withRightOperand(B.data, k, n, () => {
            blocks.forEach((rows, i) => {
              const x: Tensor = { shape: [rows, k], data: filled(rows * k, 0.15, seed + i) }
              const D: Tensor = { shape: [rows, n], data: filled(rows * n, 1, seed - i) }
              const held = heldLeft(x)
              // the products gemmHeld sends to the wasm kernel read the placed B (finite only)
              if (held.held() !== null && rows * k * n >= 4096 && nonFinite === 0) expected++
              try {
                expect(same(held.times(B).data, matmul(x, B).data)).toBe(true)
                const xtD = held.transposeTimes(D).data
                expect(same(xtD, matmul(x, D, { transposeA: true }).data)).toBe(true)
              } finally {
                held.release()
              }
            })
          })
          expect(residentStats.uses - uses).toBe(expected)
          reads += expected
          // placed no longer: a product after it copies B in as before
          const x: Tensor = { shape: [16, k], data: filled(16 * k, 0.15, seed) }
          const held = heldLeft(x)
          try {
            expect(same(held.times(B).data, matmul(x, B).data)).toBe(true)
          } finally {
            held.release()
          }
          expect(residentStats.uses - uses).toBe(expected)
        },
      ),
      { numRuns: 40 },
    )
    expect(reads).toBeGreaterThan(20) // the placed B was read often
  })

  it('a tape whose arena was laid out before moves it past the placed operand, same bits', () => {
    setKernelBackend('wasm')
    const [m, k, n] = [64, 100, 40]
    const x: Tensor = { shape: [m, k], data: filled(m * k, 0.15, 1) }
    const p = {
      W: { shape: [k, n], data: filled(k * n, 1, 2) },
      b: { shape: [n], data: filled(n, 1, 3) },
    }
    const vg = valueAndGrad((q: { W: Var; b: Var }, batch: Tensor) =>
      ad.sum(ad.affine(batch, q.W, q.b, 'relu')),
    )
    const first = vg(p, x)
    const again = vg(p, x) // in the tape's arena, at the bottom of memory
    const uses = residentStats.uses
    const inside = withRightOperand(p.W.data, k, n, () => vg(p, x)) // the arena past the operand
    expect(residentStats.uses - uses).toBe(1)
    const after = vg(p, x)
    for (const r of [again, inside, after]) {
      expect(Object.is(r.value, first.value)).toBe(true)
      expect(same(r.grad.W.data, first.grad.W.data)).toBe(true)
      expect(same(r.grad.b.data, first.grad.b.data)).toBe(true)
    }
  })

  it('js: runs the function as it is', () => {
    setKernelBackend('js')
    const B = filled(40 * 8, 1, 4)
    const uses = residentStats.uses
    const x: Tensor = { shape: [30, 40], data: filled(30 * 40, 0.15, 5) }
    const y = withRightOperand(B, 40, 8, () => matmul(x, { shape: [40, 8], data: B }))
    expect(same(y.data, matmul(x, { shape: [40, 8], data: B }).data)).toBe(true)
    expect(residentStats.uses).toBe(uses)
  })
})
