import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { ad, setKernelBackend, valueAndGrad, type AffineActivation, type Var } from 'gradstream'
import { activationBackWasm, loadWasm, reluBiasWasm } from '../../src/tensor/kernels/wasmKernels.js'

// The tape's bias + activation and its backward pass run in wasm on the wasm backend (two lanes
// at a time, a scalar tail for an odd width). Each entry there is the JavaScript expression it
// replaces, the same operations in the same order (relu: the sum masked by v > 0, which is
// `v > 0 ? v : 0`), so the reference — the formula written below — must match bit for bit
// (Object.is: NaN equals NaN, +0 differs from −0), special values included.

const w = loadWasm()

/** Finite values of every size, with zeros of both signs, and sometimes ±∞ and NaN. */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -8, max: 8, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 5e-324, -5e-324) },
)
const shape = fc.tuple(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 21 }))
const filled = (len: number, vals: number[]) =>
  Float64Array.from({ length: len }, (_, i) => vals[i % vals.length])
const same = (got: Float64Array, want: Float64Array) =>
  [...got].flatMap((v, i) => (Object.is(v, want[i]) ? [] : [[i, v, want[i]]]))

const relu = (v: number) => (v > 0 ? v : 0)
const back: Record<number, (g: number, y: number) => number> = {
  0: (g, y) => (y > 0 ? g : 0),
  1: (g, y) => g * (1 - y) * y,
  2: (g, y) => g * (1 - y * y),
}

afterAll(() => setKernelBackend('auto'))

describe.skipIf(w === null)('bias + activation kernels in wasm', () => {
  it('reluBiasWasm: z ← max(0, z + b), the JavaScript expression’s bits', () => {
    fc.assert(
      fc.property(shape, fc.array(value, { minLength: 1, maxLength: 50 }), ([n, h], vals) => {
        const Z = filled(n * h, vals)
        const b = filled(h, vals.slice().reverse())
        const want = Z.map((z, i) => relu(z + b[i % h]))
        reluBiasWasm(Z, b, n, h)
        expect(same(Z, want)).toEqual([])
      }),
    )
  })

  it('activationBackWasm: δ = g ⊙ act′ and column sums added row by row, the loops’ bits', () => {
    fc.assert(
      fc.property(
        shape,
        fc.constantFrom(0, 1, 2),
        fc.array(value, { minLength: 1, maxLength: 50 }),
        fc.array(value, { minLength: 1, maxLength: 50 }),
        fc.boolean(),
        ([n, m], act, gs, ys, withSums) => {
          const G = filled(n * m, gs)
          const Y = filled(n * m, ys)
          const want = G.map((g, i) => back[act](g, Y[i]))
          const start = filled(m, ys) // sums are added into what the buffer holds
          const wantSums = start.slice()
          for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) wantSums[j] += want[i * m + j]
          const D = new Float64Array(n * m).fill(7)
          const sums = withSums ? start.slice() : null
          activationBackWasm(act, G, Y, D, n, m, sums)
          expect(same(D, want)).toEqual([])
          if (sums !== null) expect(same(sums, wantSums)).toEqual([])
          expect(same(G, filled(n * m, gs))).toEqual([]) // inputs unchanged
        },
      ),
    )
  })
})

describe.skipIf(w === null)('ad.affine’s bias + activation on both backends', () => {
  const grads = (act: AffineActivation, m: number, k: number, n: number, vals: number[]) => {
    const x = { shape: [m, k], data: filled(m * k, vals) }
    const W = { shape: [k, n], data: filled(k * n, vals.slice(1)) }
    const b = { shape: [n], data: filled(n, vals.slice(2)) }
    const u = { shape: [m, n], data: filled(m * n, vals.slice(3)) }
    // Σ u ⊙ act(x·W + b): the gradient flowing back into the layer is u
    const f = (p: { x: Var; W: Var; b: Var }) => ad.sum(ad.mul(ad.affine(p.x, p.W, p.b, act), u))
    return valueAndGrad(f)({ x, W, b }, undefined)
  }

  it('value and gradients equal the JavaScript loops’ bit for bit (layers past 256 entries)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<AffineActivation>('relu', 'sigmoid', 'tanh'),
        fc.integer({ min: 16, max: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 16, max: 33 }),
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 4, maxLength: 40 }),
        (act, m, k, n, vals) => {
          setKernelBackend('wasm')
          const a = grads(act, m, k, n, vals)
          setKernelBackend('js')
          const j = grads(act, m, k, n, vals)
          expect(Object.is(a.value, j.value)).toBe(true)
          for (const key of ['x', 'W', 'b'] as const)
            expect(same(a.grad[key].data, j.grad[key].data)).toEqual([])
        },
      ),
      { numRuns: 40 },
    )
  })

  it('a layer of more than 2¹⁸ entries goes through wasm in slices, with the same bits', () => {
    // 2,100 × 128 = 268,800 entries: two slices forward, two backward, ∂b summed across both
    const vals = Array.from({ length: 97 }, (_, i) => Math.sin(i * 1.7) * 2)
    setKernelBackend('wasm')
    const a = grads('relu', 2100, 3, 128, vals)
    setKernelBackend('js')
    const j = grads('relu', 2100, 3, 128, vals)
    expect(Object.is(a.value, j.value)).toBe(true)
    for (const key of ['x', 'W', 'b'] as const)
      expect(same(a.grad[key].data, j.grad[key].data)).toEqual([])
  })
})
