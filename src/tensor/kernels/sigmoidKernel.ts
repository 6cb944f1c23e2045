/**
 * The sigmoid of an affine layer, `Z ← σ(Z + b)` row by row, on the backend in force: in
 * WebAssembly (wasmKernels.ts, whose exp is Node 20's Math.exp ported operation for operation)
 * or as the JavaScript loop `1 / (1 + Math.exp(-(z + b)))`. Under Node both give the same bits;
 * in a browser whose Math.exp rounds otherwise (Chromium 156 differs from Node 20 in the last bit
 * for ~10% of arguments) they may not. The route depends on the shape and the backend (the loop
 * takes over only where wasm memory cannot grow), so a run repeats itself in any one engine.
 */
import { resolvedBackend } from './gemmKernel.js'
import { sigmoidBiasWasm } from './wasmKernels.js'

/** Below this many entries the copies in and out of wasm memory cost more than they save. */
const WASM_MIN_ENTRIES = 256

/** Entries per wasm call (2 MB of float64): a data set's hidden layer goes through in slices. */
const CHUNK_ENTRIES = 1 << 18

/**
 * `Z[i, j] = 1 / (1 + e^−(Z[i, j] + bias[j]))` in place, for an n×h row-major `Z` and `h`
 * biases (the book's `sigmoid(x·W1 + b1)` on a product just computed). Internal.
 */
export function sigmoidBiasKernel(Z: Float64Array, bias: Float64Array, n: number, h: number): void {
  let from = 0
  if (resolvedBackend() === 'wasm' && n * h >= WASM_MIN_ENTRIES) {
    // in slices of at most CHUNK_ENTRIES, so linear memory need not grow to a whole data set
    const rows = Math.max(1, Math.floor(CHUNK_ENTRIES / h))
    try {
      for (; from < n; from += rows) {
        const to = Math.min(n, from + rows)
        sigmoidBiasWasm(Z.subarray(from * h, to * h), bias, to - from, h)
      }
      return
    } catch (e) {
      // linear memory could not grow (before the slice was touched): the loop below does the
      // rows from that slice on, in place
      if (!(e instanceof RangeError)) throw e
    }
  }
  for (let i = from; i < n; i++) {
    const o = i * h
    for (let j = 0; j < h; j++) Z[o + j] = 1 / (1 + Math.exp(-(Z[o + j] + bias[j])))
  }
}
