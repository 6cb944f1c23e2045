import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { setKernelBackend } from 'gradstream'
import {
  WASM_MIN_LENGTH,
  addScaledData,
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

  it('addScaledData on long arrays: the same bits on either backend, x and y left as they were', () => {
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
          expect(bitDiffs(w, want)).toEqual([])
          expect(bitDiffs(j, want)).toEqual([])
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
})
