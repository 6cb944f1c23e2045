import { resolvedBackend, type KernelBackend } from './gemmKernel.js'

/**
 * The implementation that runs the matrix products now: `'wasm'` or `'js'` (see
 * `setKernelBackend`).
 *
 * @example
 * ```ts
 * import { getKernelBackend } from 'gradstream'
 *
 * getKernelBackend() // 'wasm' in Node 20 unless GRADSTREAM_KERNELS=js
 * ```
 * @see setKernelBackend
 */
export function getKernelBackend(): KernelBackend {
  return resolvedBackend()
}
