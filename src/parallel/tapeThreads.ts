// Internal: both cores for any differentiated step. Under `setKernelThreads('auto')` (the
// default) a `valueAndGrad` call whose products are large enough runs under the step timer
// (autoThreads.ts, its own 'tape' timer): when the timer asks for two threads, the call's large
// products split their rows with the helper thread (sharedKernels.ts's runLarge, the same kernels
// on a shared memory, the same bits), and the call's time goes back to the timer, which keeps two
// threads only where they measure faster. `setKernelThreads(2)` splits every large product
// anyway; `setKernelThreads(1)` none.
import { largeProducts } from '../tensor/kernels/gemmKernel.js'
import { recordStep, stepThreads } from './autoThreads.js'
import { helperRunning, runLarge, sharedHold, threadState, tuning } from './sharedKernels.js'

/**
 * Multiply-adds (m·k·n, summed over a call's products) below which a call always runs on one
 * thread: the hand-over to the helper costs tens of microseconds a product.
 */
export const TAPE_MIN_WORK = 1 << 22

/** Differentiated calls run on two threads so far (a count for benchmarks and tests). */
export const tapeStats = { steps: 0 }

/**
 * Runs `fn` (one traced call and its backward pass, `work` multiply-adds in its products as its
 * last call counted them) on the thread count the step timer chooses; returns what `fn` returns.
 */
export function withStepThreads<R>(work: number, fn: () => R): R {
  if (threadState.requested !== 'auto' || work < TAPE_MIN_WORK || largeProducts.run !== null) {
    return fn()
  }
  // the timer's size: work in units of 256 multiply-adds, so its 16,384 floor sits at 2²²
  const size = work / 256
  const asked = stepThreads(size, 'tape')
  const two = asked === 2 && helperRunning()
  if (two) {
    tapeStats.steps++
    largeProducts.minWork = Math.min(
      tuning.denseMinWork,
      tuning.sparseMinWork,
      tuning.transposedSparseMinWork,
    )
    largeProducts.run = runLarge
    largeProducts.hold = sharedHold
  }
  const started = performance.now()
  try {
    return fn()
  } finally {
    if (two) {
      largeProducts.run = null
      largeProducts.hold = null
      largeProducts.minWork = Infinity
    }
    recordStep(size, asked, two ? 2 : 1, performance.now() - started, 'tape')
  }
}
