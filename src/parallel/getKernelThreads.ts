import { threadState } from './sharedKernels.js'

/**
 * The number of threads large matrix products run on: 2 after `setKernelThreads(2)` where the
 * helper thread could start, else 1.
 *
 * @example
 * ```ts
 * import { getKernelThreads } from 'gradstream'
 *
 * getKernelThreads() // 1 until setKernelThreads(2)
 * ```
 * @see setKernelThreads
 */
export function getKernelThreads(): 1 | 2 {
  return threadState.requested === 2 && threadState.available ? 2 : 1
}
