import { autoThreads } from './autoThreads.js'
import { explicitThreads, threadState } from './sharedKernels.js'

/**
 * The number of threads the kernels run on now: 2 after `setKernelThreads(2)` where the helper
 * thread could start; under `'auto'` (the default) 2 while the two-layer training step has
 * measured two threads faster (large products outside it stay on one); else 1.
 *
 * @example
 * ```ts
 * import { getKernelThreads, setKernelThreads } from 'gradstream'
 *
 * setKernelThreads(1)
 * console.log(getKernelThreads()) // → 1
 * setKernelThreads('auto') // the default again
 * ```
 * @see setKernelThreads
 */
export function getKernelThreads(): 1 | 2 {
  return threadState.requested === 'auto' ? autoThreads() : explicitThreads()
}
