import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { setKernelBackend } from 'gradstream'
import { sigmoidBiasKernel } from '../../src/tensor/kernels/sigmoidKernel.js'
import { loadWasm } from '../../src/tensor/kernels/wasmKernels.js'

// The wasm kernels' exp is V8's Math.exp (fdlibm) ported operation for operation, two lanes at a
// time with a one-by-one fallback: the reference is Math.exp itself, compared bit for bit
// (Object.is), so under Node a sigmoid computed in wasm changes no training result. (Chromium
// 156's Math.exp differs from Node 20's in the last bit for ~10% of arguments: nothing may pick
// wasm's exp or Math.exp by where its numbers lie, see ad.softmaxCrossEntropy.)

const w = loadWasm()
const AT = 1 << 16

/** e^x for every x, through the wasm export (one call: pairs, then a scalar tail). */
function wasmExp(xs: Float64Array): Float64Array {
  if (!w) throw new Error('no wasm')
  const need = AT + 2 * xs.length * 8
  const have = w.memory.buffer.byteLength
  if (need > have) w.memory.grow(Math.ceil((need - have) / 65536))
  const f64 = new Float64Array(w.memory.buffer)
  f64.set(xs, AT / 8)
  w.expInto(AT, AT + xs.length * 8, xs.length)
  return f64.slice(AT / 8 + xs.length, AT / 8 + 2 * xs.length)
}

/** Indices where the two arrays differ as values (NaN equals NaN, +0 differs from −0). */
function differences(got: Float64Array, xs: Float64Array): number[] {
  const bad: number[] = []
  for (let i = 0; i < xs.length; i++) if (!Object.is(got[i], Math.exp(xs[i]))) bad.push(xs[i])
  return bad
}

describe.skipIf(w === null)('exp in wasm (V8’s Math.exp, bit for bit)', () => {
  afterAll(() => setKernelBackend('auto'))

  it('on sweeps across every branch of fdlibm’s reduction and past the overflow bounds', () => {
    // 0.5·ln2 and 1.5·ln2 bound the k = ±1 branch, 2⁻²⁸ the tiny one, ±709.78/−745.13 the ends,
    // 512 the two-lane path, −708.4 (k = −1022) the subnormal scaling
    const ranges: [number, number][] = [
      [-1e-7, 1e-7],
      [-2, 2],
      [-40, 40],
      [-520, 520],
      [-760, 760],
      [-708.6, -707],
    ]
    for (const [lo, hi] of ranges) {
      const n = 200_001 // odd: the last one takes the scalar tail
      const xs = Float64Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1))
      expect(differences(wasmExp(xs), xs)).toEqual([])
    }
    const special = Float64Array.from([
      0,
      -0,
      1,
      -1,
      2,
      Infinity,
      -Infinity,
      NaN,
      709.782712893384,
      709.7827128933841,
      -745.1332191019411,
      -745.1332191019412,
      2 ** -28,
      -(2 ** -28),
      2 ** -29,
      1e-300,
      -1e-300,
      Math.LN2 / 2,
      -Math.LN2 / 2,
      1.5 * Math.LN2,
      -1.5 * Math.LN2,
      1.0397186279296875,
      0.3465735902799726,
      512,
      -512,
      1024 * Math.LN2,
      Number.MIN_VALUE,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
    ])
    // each special value in both lanes of a pair and as the scalar tail
    for (const x of special) {
      for (const xs of [[x], [x, 0.25], [0.25, x], [x, x, x]]) {
        const a = Float64Array.from(xs)
        expect(differences(wasmExp(a), a)).toEqual([])
      }
    }
  })

  it('on arbitrary doubles in arbitrary pairs', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { minLength: 1, maxLength: 64 }), (xs) => {
        const a = Float64Array.from(xs)
        expect(differences(wasmExp(a), a)).toEqual([])
      }),
    )
  })

  it('sigmoidBiasKernel gives the JavaScript loop’s bits on both backends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 21 }),
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 64 }),
        (n, h, vals) => {
          const Z0 = Float64Array.from({ length: n * h }, (_, i) => vals[i % vals.length] / 3)
          const bias = Float64Array.from({ length: h }, (_, j) => vals[(j * 7) % vals.length] / 5)
          const want = Z0.map((z, i) => 1 / (1 + Math.exp(-(z + bias[i % h]))))
          for (const backend of ['wasm', 'js'] as const) {
            setKernelBackend(backend)
            const Z = Z0.slice()
            sigmoidBiasKernel(Z, bias, n, h)
            const bad = [...Z].flatMap((v, i) => (Object.is(v, want[i]) ? [] : [i]))
            expect(bad).toEqual([])
          }
        },
      ),
    )
  })
})
