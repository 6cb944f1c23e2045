import { show } from '../../errors.js'
import { kernelState, resolvedBackend, type KernelBackend } from './gemmKernel.js'
import { loadWasm } from './wasmKernels.js'

/**
 * Chooses the implementation behind `matmul` and the other products: `'wasm'` (WebAssembly
 * SIMD, f64x2), `'js'` (pure TypeScript), or `'auto'` (wasm when the platform supports
 * WebAssembly SIMD, else js; the default). The environment variable `GRADSTREAM_KERNELS`
 * (`js`, `wasm` or `auto`) sets the initial choice, so a test run can force the fallback. Both
 * backends give the same results: every sum runs in the same order.
 *
 * @example
 * ```ts
 * import { getKernelBackend, setKernelBackend } from 'gradstream'
 *
 * setKernelBackend('js')
 * getKernelBackend() // 'js'
 * setKernelBackend('auto')
 * getKernelBackend() // 'wasm' where WebAssembly SIMD runs (Node 20, current browsers)
 * ```
 * @param backend `'js'`, `'wasm'` or `'auto'`
 * @throws {TypeError} `setKernelBackend: backend: expected "js", "wasm" or "auto", got "gpu"`
 * @throws {Error} `setKernelBackend: backend: expected "js" or "auto" on a platform without WebAssembly SIMD, got "wasm"`
 * @see getKernelBackend
 */
export function setKernelBackend(backend: KernelBackend | 'auto'): void {
  if (backend !== 'js' && backend !== 'wasm' && backend !== 'auto') {
    throw new TypeError(
      `setKernelBackend: backend: expected "js", "wasm" or "auto", got ${show(backend)}`,
    )
  }
  if (backend === 'wasm' && !loadWasm()) {
    throw new Error(
      'setKernelBackend: backend: expected "js" or "auto" on a platform without WebAssembly SIMD, got "wasm"',
    )
  }
  kernelState.requested = backend
  kernelState.resolved = null
  resolvedBackend()
}
