/**
 * `x + a·y` elementwise into a new array — the update stage's `p + a·u` for one tensor — on the
 * WebAssembly SIMD kernel for long arrays (the wasm backend), else in JavaScript. Both give the
 * same bits: one rounded multiply, then one rounded add.
 */
import { uninitializedF64 } from '../uninitialized.js'
import { resolvedBackend } from './gemmKernel.js'
import type { LazyData } from '../lazyData.js'
import { addScaledTwinWasm, addScaledWasm } from './wasmKernels.js'

/**
 * Arrays at least this long go to wasm. bench/kernels.bench.ts ("p + a·u", copies included)
 * measured wasm 1.3× the JavaScript loop at 512 entries, 2.4× at 1,024 and 2.0–4.3× from 2,048
 * on (10:47 UTC, load ≈ 1.7); shorter arrays (biases) stay in JavaScript, where a call costs less.
 */
export const WASM_MIN_LENGTH = 1024

/** Entries per wasm call (2 MB of float64 an operand): linear memory never grows past that. */
const CHUNK = 1 << 18

/** `x + a·y` into a new array of `x.length` (`y` at least as long). */
export function addScaledData(x: Float64Array, y: Float64Array, a: number): Float64Array {
  const data = uninitializedF64(x.length) // every element is written below
  addScaledInto(x, y, a, data)
  return data
}

/** `x + a·y` into `out` (its length; `x` and `y` at least as long; `out` may be `x`). */
export function addScaledInto(
  x: Float64Array,
  y: Float64Array,
  a: number,
  out: Float64Array,
): void {
  const len = out.length
  let from = 0
  if (len >= WASM_MIN_LENGTH && resolvedBackend() === 'wasm') {
    try {
      for (; from < len; from += CHUNK) {
        const to = Math.min(len, from + CHUNK)
        addScaledWasm(x.subarray(from, to), y.subarray(from, to), a, out.subarray(from, to))
      }
      return
    } catch (e) {
      // linear memory could not grow (before the chunk was touched): JavaScript does the rest
      if (!(e instanceof RangeError)) throw e
    }
  }
  addScaledJs(x, y, a, out, from)
}

/**
 * `x + a·y` for a lazy `y` (src/tensor/lazyData.ts): where wasm memory still holds y's numbers
 * (the tape's lazy ∂W right after its step), summed there without making y's data; else
 * `addScaledData(x, y.value(), a)`. The same bits either way.
 */
export function addScaledLazy(x: Float64Array, y: LazyData, a: number): Float64Array {
  const len = x.length
  if (len >= WASM_MIN_LENGTH && len <= CHUNK && resolvedBackend() === 'wasm') {
    const data = uninitializedF64(len)
    if (addScaledTwinWasm(x, y, a, data)) return data
  }
  return addScaledData(x, y.value(), a)
}

/**
 * The JavaScript loop over `[from, out.length)`, kept apart from any polymorphic caller on
 * purpose: inside the update's tree walk the loop shared a function with the Params dispatch,
 * and V8 kept deoptimizing the whole thing ("Insufficient type feedback for generic named
 * access"), re-running the hot loop in the interpreter; here it only ever sees Float64Arrays
 * and numbers.
 */
export function addScaledJs(
  x: Float64Array,
  y: Float64Array,
  a: number,
  out: Float64Array,
  from = 0,
): void {
  for (let i = from; i < out.length; i++) out[i] = x[i] + a * y[i]
}
