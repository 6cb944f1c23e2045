// Internal: both cores for any differentiated step. Under `setKernelThreads('auto')` (the
// default) a `valueAndGrad` call whose products are large enough runs under the step timer
// (autoThreads.ts, its own 'tape' timer): when the timer asks for two threads, the whole call
// runs with the kernels over the memory shared with the helper thread (sharedKernels.ts's
// onSharedMemory): the tape's arena, its held batch and every product's operands lie there, and
// the large products split C's rows with the helper where they lie (the same kernels, the same
// bits, nothing copied for the split). The call's time goes back to the timer, which keeps two
// threads only where they measure faster. `setKernelThreads(2)` runs every call whose products
// reach TAPE_MIN_WORK (and a tape's first, whose work is not known yet) on the shared memory (its
// large products split), a smaller one on this thread alone; `setKernelThreads(1)` none.
import { largeProducts, resolvedBackend } from '../tensor/kernels/gemmKernel.js'
import { recordStep, stepThreads } from './autoThreads.js'
import { helperRunning, onSharedMemory, threadState } from './sharedKernels.js'

/**
 * Multiply-adds (m·k·n, summed over a call's products) below which a call always runs on one
 * thread: the hand-over to the helper costs microseconds a product, more when it sleeps.
 */
export const TAPE_MIN_WORK = 1 << 22

/**
 * Under `setKernelThreads(2)`, a call whose work is known to be below `explicitMinWork` runs on
 * one thread (tests that check the shared path's bits on small calls set it to 0).
 */
export const tapeTuning = { explicitMinWork: TAPE_MIN_WORK }

/** Differentiated calls run on two threads so far (a count for benchmarks and tests). */
export const tapeStats = { steps: 0 }

/** True while a call runs on two threads (a nested differentiated call runs inside it). */
let inStep = false

/**
 * Runs `fn` (one traced call and its backward pass, `work` multiply-adds in its products as its
 * last call counted them) on the thread count the step timer chooses; returns what `fn` returns.
 */
export function withStepThreads<R>(work: number, fn: () => R): R {
  const requested = threadState.requested
  if (requested === 1 || inStep || resolvedBackend() !== 'wasm') return fn()
  // every call on the shared memory, its first (whose work is not known yet) too: the headroom
  // its arena reserves is then measured there; products too small to split stay on one thread.
  // A call known to be small runs here alone, its products' hooks set aside: the hand-over costs
  // more than its splits save (W3's training ran 1.20× slower with every step on two threads)
  if (requested === 2) {
    if (work > 0 && work < tapeTuning.explicitMinWork) return aside(fn)
    return (twoThreads(fn) ?? { result: fn() }).result
  }
  if (work < TAPE_MIN_WORK) {
    threadState.stepRan = 1
    return fn()
  }
  // the timer's size: work in units of 256 multiply-adds, so its 16,384 floor sits at 2²²
  const size = work / 256
  const asked = stepThreads(size)
  const started = performance.now()
  let ran: 1 | 2 = 1
  try {
    if (asked === 2 && helperRunning()) {
      const two = twoThreads(fn)
      if (two !== null) {
        ran = 2
        return two.result
      }
    }
    return fn()
  } finally {
    // the optimizer's pass after it splits with the helper when this call ran on two threads
    threadState.stepRan = ran
    recordStep(size, asked, ran, performance.now() - started)
  }
}

/**
 * `fn` on the shared memory (its products split with the helper), with setKernelThreads(2)'s
 * product hooks set aside meanwhile (they would copy operands the step already has there);
 * null, running nothing, when it cannot run there.
 */
function twoThreads<R>(fn: () => R): { result: R } | null {
  return aside(() => {
    const done = onSharedMemory(fn)
    if (done !== null) tapeStats.steps++
    return done
  })
}

/** `fn` with setKernelThreads(2)'s product hooks set aside (a call's products stay where it runs). */
function aside<R>(fn: () => R): R {
  const { run, hold, minWork } = largeProducts
  largeProducts.run = null
  largeProducts.hold = null
  largeProducts.minWork = Infinity
  inStep = true
  try {
    return fn()
  } finally {
    inStep = false
    Object.assign(largeProducts, { run, hold, minWork })
  }
}
