import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { matmul, setKernelBackend, tensor, twoLayerGradient, type Tensor } from 'gradstream'
import {
  WASM_MIN_LENGTH,
  addScaledData,
  addScaledInto,
  addScaledJs,
} from '../../src/tensor/kernels/addScaledKernel.js'
import { addScaledWasm, loadWasm } from '../../src/tensor/kernels/wasmKernels.js'

// The update's p + a·u: one rounded multiply then one rounded add per entry, in wasm (four
// entries, two f64x2, at a time, then a scalar tail) and in JavaScript. IEEE 754 fixes each
// rounding, so the reference — the expression evaluated anew here — must be met bit for bit
// (Object.is: −0 and NaN included), not within a tolerance.

const reference = (x: Float64Array, y: Float64Array, a: number) =>
  Float64Array.from(x, (xi, i) => xi + a * y[i])

const bitDiffs = (got: Float64Array, want: Float64Array) =>
  [...want.keys()].filter((i) => !Object.is(got[i], want[i]))

// any double: finite of every magnitude, subnormals, ±0, ±∞, NaN
const anyDouble = fc.double()
const vectors = (min: number, max: number) =>
  fc
    .integer({ min, max })
    .chain((n) =>
      fc.tuple(
        fc.float64Array({ minLength: n, maxLength: n }),
        fc.float64Array({ minLength: n, maxLength: n }),
      ),
    )

describe.skipIf(loadWasm() === null)('addScaled kernel (the update’s p + a·u)', () => {
  afterAll(() => setKernelBackend('auto'))

  it.each([
    ['wasm', addScaledWasm],
    ['JavaScript', addScaledJs],
  ] as const)(
    '%s equals the expression bit for bit, every length mod 4 and every double',
    (_, kernel) => {
      fc.assert(
        fc.property(vectors(0, 41), anyDouble, ([x, y], a) => {
          const out = new Float64Array(x.length)
          kernel(x, y, a, out)
          expect(bitDiffs(out, reference(x, y, a))).toEqual([])
        }),
      )
    },
  )

  it('addScaledData and addScaledInto on long arrays: the same bits on either backend, x and y left as they were', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: WASM_MIN_LENGTH - 3, max: WASM_MIN_LENGTH * 3 }),
        fc.double({ noNaN: true, min: -1, max: 1 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (n, a, seed) => {
          // a cheap reproducible fill (fast-check would take long to build arrays this size)
          let s = seed
          const next = () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) / 2 ** 31) * 3
          const x = Float64Array.from({ length: n }, next)
          const y = Float64Array.from({ length: n }, next)
          const x0 = x.slice()
          const y0 = y.slice()
          const want = reference(x, y, a)
          setKernelBackend('wasm')
          const w = addScaledData(x, y, a)
          setKernelBackend('js')
          const j = addScaledData(x, y, a)
          // into a caller's array (a line search's trial point), whatever it held before
          const into = Float64Array.from(x, () => NaN)
          setKernelBackend('wasm')
          addScaledInto(x, y, a, into)
          expect(bitDiffs(w, want)).toEqual([])
          expect(bitDiffs(j, want)).toEqual([])
          expect(bitDiffs(into, want)).toEqual([])
          expect(bitDiffs(x, x0)).toEqual([])
          expect(bitDiffs(y, y0)).toEqual([])
        },
      ),
      { numRuns: 20 },
    )
  })

  it('an array longer than a wasm call takes (2¹⁸ entries) goes through in chunks, same bits', () => {
    const n = 3 * 2 ** 18 + 5
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3)
    const y = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7))
    setKernelBackend('wasm')
    expect(bitDiffs(addScaledData(x, y, -0.01), reference(x, y, -0.01))).toEqual([])
    // two 2 MB operands at a time, not two 6.3 MB ones: linear memory stays small (it never
    // shrinks); this file's other products need well under 1 MB
    expect(loadWasm()!.memory.buffer.byteLength).toBeLessThan(8 * 2 ** 20)
  })

  it('in place (out = x) gives the same bits', () => {
    const x = Float64Array.from({ length: 9001 }, (_, i) => Math.sin(i))
    const y = Float64Array.from({ length: 9001 }, (_, i) => Math.cos(i) * 1e-3)
    const want = reference(x, y, -0.1)
    addScaledWasm(x, y, -0.1, x)
    expect(bitDiffs(x, want)).toEqual([])
  })

  // A two-layer step leaves W1 and ∂W1 in linear memory; the update right after reads them
  // there. Whatever ran in between, the numbers must be those of the arrays themselves.
  describe('after a two-layer step (W1 and ∂W1 read where the step left them)', () => {
    const lcg = (seed: number) => {
      let s = seed
      return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5
    }
    /** A mostly-zero batch (the wasm step's path), a net 64–h–3, its weights and gradient. */
    const step = (seed: number, h: number) => {
      setKernelBackend('wasm')
      const next = lcg(seed)
      const n = 20
      const d = 64
      const x = tensor(
        Array.from({ length: n }, () =>
          Array.from({ length: d }, () => (next() > 0.3 ? next() : 0)),
        ),
      )
      const p = {
        W1: { shape: [d, h], data: Float64Array.from({ length: d * h }, next) },
        b1: { shape: [h], data: Float64Array.from({ length: h }, next) },
        W2: { shape: [h, 3], data: Float64Array.from({ length: h * 3 }, next) },
        b2: { shape: [3], data: Float64Array.from({ length: 3 }, next) },
      }
      const t = tensor(Array.from({ length: n }, (_, i) => i % 3))
      return { p, g: twoLayerGradient(p, x, t).grad, next }
    }

    it('W1 + a·∂W1 right after the step: the bits of the expression', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** 30 }),
          fc.integer({ min: 16, max: 40 }), // d·h ≥ 1,024: the wasm update
          anyDouble,
          (seed, h, a) => {
            const { p, g } = step(seed, h)
            const W1 = Float64Array.from(p.W1.data)
            const dW1 = Float64Array.from(g.W1.data)
            const got = addScaledData(p.W1.data, g.W1.data, a)
            expect(bitDiffs(got, reference(W1, dW1, a))).toEqual([])
            // and nothing was written into them
            expect(bitDiffs(p.W1.data, W1)).toEqual([])
            expect(bitDiffs(g.W1.data, dW1)).toEqual([])
          },
        ),
      )
    })

    it('with other kernels run in between, or the update asked twice: the bits of the expression', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** 30 }),
          fc.integer({ min: 16, max: 40 }),
          fc.constantFrom('product', 'update', 'other arrays'),
          (seed, h, between) => {
            const { p, g, next } = step(seed, h)
            const want = reference(p.W1.data, g.W1.data, -0.1)
            if (between === 'product') {
              // lays out operands over where W1 and ∂W1 were
              const a: Tensor = { shape: [64, 64], data: Float64Array.from({ length: 4096 }, next) }
              matmul(a, a)
            } else if (between === 'update') {
              // the first update sums over ∂W1's place: the second must not read it there
              addScaledData(p.W1.data, g.W1.data, -0.1)
            } else {
              // arrays of the same length elsewhere are not W1 or ∂W1
              const x = Float64Array.from(p.W1.data, (v) => v + 1)
              const y = Float64Array.from(g.W1.data, (v) => v * 2)
              expect(bitDiffs(addScaledData(x, y, -0.1), reference(x, y, -0.1))).toEqual([])
              expect(
                bitDiffs(addScaledData(p.W1.data, y, -0.1), reference(p.W1.data, y, -0.1)),
              ).toEqual([])
            }
            expect(bitDiffs(addScaledData(p.W1.data, g.W1.data, -0.1), want)).toEqual([])
          },
        ),
      )
    })
  })
})
