/**
 * `x + a·y` elementwise into a new array — the update stage's `p + a·u` for one tensor — on the
 * WebAssembly SIMD kernel for long arrays (the wasm backend), else in JavaScript. Both give the
 * same bits: one rounded multiply, then one rounded add.
 */
import { uninitializedF64 } from '../uninitialized.js'
import { resolvedBackend } from './gemmKernel.js'
import { addScaledWasm } from './wasmKernels.js'

/**
 * Arrays at least this long go to wasm. bench/kernels.bench.ts ("p + a·u", copies included)
 * measured wasm 1.3× the JavaScript loop at 512 entries, 1.6× at 1,024 and 2.3–4× from 2,048
 * on (10:20 UTC, load ≈ 2.5); shorter arrays (biases) stay in JavaScript, where a call costs less.
 */
export const WASM_MIN_LENGTH = 1024

/** `x + a·y` into a new array of `x.length` (`y` at least as long). */
export function addScaledData(x: Float64Array, y: Float64Array, a: number): Float64Array {
  const data = uninitializedF64(x.length) // every element is written below
  if (x.length >= WASM_MIN_LENGTH && resolvedBackend() === 'wasm') addScaledWasm(x, y, a, data)
  else addScaledJs(x, y, a, data)
  return data
}

/**
 * The JavaScript loop, kept apart from any polymorphic caller on purpose: inside the update's
 * tree walk the loop shared a function with the Params dispatch, and V8 kept deoptimizing the
 * whole thing ("Insufficient type feedback for generic named access"), re-running the hot loop
 * in the interpreter; here it only ever sees Float64Arrays and a number.
 */
export function addScaledJs(x: Float64Array, y: Float64Array, a: number, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i] + a * y[i]
}
