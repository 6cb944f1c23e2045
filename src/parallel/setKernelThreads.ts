import { show } from '../errors.js'
import { largeProducts } from '../tensor/kernels/gemmKernel.js'
import { closers } from './poolInternals.js'
import { runLarge, startHelper, stopHelper, threadState, tuning } from './sharedKernels.js'

/**
 * Runs large matrix products on two threads (`2`) or one (`1`, the default). With two, a product
 * on the wasm backend above the crossover (m·k·n ≥ 2²⁰ multiply-adds dense, ≥ 2·2²⁰ for A·B with
 * a sparse A — about 54 images times 784×50 —, ≥ 8·2²⁰ for Aᵀ·B with a sparse A) has its rows
 * split between the calling thread and one helper worker, both running the same WebAssembly
 * kernels over one shared memory (for a sparse A·B each thread also compresses its own half of
 * A's rows). Each row is computed by the same code as on one thread, so results are the same bit
 * for bit; only the time changes. On an idle two-core machine products from ~10⁶ multiply-adds
 * ran 1.3–1.9× faster; on a busy one (other processes on both cores) the hand-over costs
 * 30–300 µs and splits lost up to 30%, so ask for two threads only with a core to spare. A
 * training step's backprop products (`twoLayerGradient`'s held x) stay on one thread.
 *
 * `setKernelThreads(2)` starts the helper and waits for it (tens of milliseconds, once). The
 * helper does not keep the process alive; `closeWorkers()` or `setKernelThreads(1)` ends it.
 * Where a thread may not block or worker_threads are missing (a browser's main thread), products
 * stay on one thread and `getKernelThreads()` says 1.
 *
 * @example
 * ```ts
 * import { getKernelThreads, matmul, setKernelThreads, zeros } from 'gradstream'
 *
 * setKernelThreads(2)
 * getKernelThreads() // 2 in Node on a machine with two cores or more
 * const y = matmul(zeros([5000, 784]), zeros([784, 50])) // rows split across both threads
 * setKernelThreads(1) // the helper exits
 * ```
 * @param threads `1` or `2`
 * @throws {TypeError} `setKernelThreads: threads: expected 1 or 2, got 4`
 * @see getKernelThreads, setKernelBackend, closeWorkers
 */
export function setKernelThreads(threads: 1 | 2): void {
  if (threads !== 1 && threads !== 2) {
    throw new TypeError(`setKernelThreads: threads: expected 1 or 2, got ${show(threads)}`)
  }
  threadState.requested = threads
  if (threads === 1) {
    largeProducts.run = null
    largeProducts.minWork = Infinity
    threadState.available = false
    stopHelper()
    return
  }
  closers.add(stopHelper)
  threadState.available = startHelper()
  if (threadState.available) {
    largeProducts.minWork = Math.min(
      tuning.denseMinWork,
      tuning.sparseMinWork,
      tuning.transposedSparseMinWork,
    )
    largeProducts.run = runLarge
  }
}
