import { show } from '../errors.js'
import { largeProducts } from '../tensor/kernels/gemmKernel.js'
import { resetChooser } from './autoThreads.js'
import { closers } from './closerInternals.js'
import {
  runLarge,
  sharedHold,
  startHelper,
  stopHelper,
  threadState,
  tuning,
} from './sharedKernels.js'

/**
 * How many threads the kernels use: `'auto'` (the default), `2` or `1`.
 *
 * With `2`, large products on the wasm backend (m·k·n ≥ 2²⁰ multiply-adds dense, ≥ 2·2²⁰ for A·B
 * with a sparse A, ≥ 8·2²⁰ for Aᵀ·B with a sparse A) have their rows split between the calling
 * thread and one helper worker, both running the same WebAssembly kernels over one shared
 * memory; a differentiated step (`valueAndGrad`, mlp, twoLayerNet) whose products reach 2²²
 * multiply-adds then runs on that memory, a smaller one on the calling thread alone (the
 * hand-over would cost more than its splits save). Each row is computed by the same code as on
 * one thread, so results are the same bit for bit; only the time changes. On a quiet two-core
 * machine W5's mlp 784–256–128–10 trained in ~0.9× one thread's time; with the second core busy
 * the hand-over costs 30–300 µs a product and two threads can be slower than one.
 *
 * With `'auto'`, training steps measure: any `valueAndGrad` / `autodiff` / mlp / twoLayerNet
 * gradient whose products reach 2²² multiply-adds (its large products then split as with `2`),
 * with its step timer: after 30
 * steps and 5 seconds of them on one thread (a shorter run could not repay a probe, so it never
 * probes) it probes — the count in use, the other, the one in use again, each part
 * after 10 unmeasured steps, the middle one at least 30 steps and 150 ms, the outer ones half of
 * that — timing each step from its start to the next step's start (the whole loop's period, not
 * the gradient alone); the other count is chosen only when its mean step is at least 5% shorter
 * in two probes in a row (the second right after the first), or two threads in use 1.3× slower
 * than one in one probe (another process took a core), and the choice is measured again
 * 400 steps later and then every 2,000 (up to 16,000 while it holds). A short run of small steps
 * never starts the helper (it starts 20 steps before the first probe, without waiting for it). A
 * gradient whose products reach 2²⁴ multiply-adds a step (W5's mlp 784–256–128–10 on 128 images)
 * starts the helper after its first step (it writes the memory it shares once and warms its
 * kernels on the idle core) and, however short the run, has shorter probes (4 unmeasured steps a
 * part, the middle one 20 steps and 80 ms, the outer ones half of that). On Linux, where the
 * threads' wait for a core can be read (/proc's schedstat), such a step runs on two threads as
 * soon as the helper is ready, and a window of 16 of those steps in which the two threads waited
 * for a core 60% of the time or more (after a probe: and ran 1.3× slower than it measured) starts
 * a probe at once, from its part on one thread — another process may have taken a core, and that
 * probe leaves two threads if one is faster; otherwise the first probe comes 500 steps after the
 * two threads start. Elsewhere it runs on one thread until two probes from its 12th step find two
 * faster. Between probes (on two threads where the wait is read, the windows above instead), 20
 * steps 1.3× slower than the last probe measured start one at once. On two
 * threads the optimizer's pass over long leaves (Adam's, after such a gradient) splits with the
 * helper too. Once started, the helper sleeps while one thread is chosen; products outside such
 * steps stay on one thread. `1` keeps everything on the calling thread.
 *
 * `setKernelThreads(2)` starts the helper and waits for it (tens of milliseconds, once). The
 * helper does not keep the process alive; `closeWorkers()` or `setKernelThreads(1)` ends it.
 * Where a thread may not block or worker_threads are missing (a browser's main thread), the
 * kernels stay on one thread and `getKernelThreads()` says 1.
 *
 * @example
 * ```ts
 * import { getKernelThreads, matmul, setKernelThreads, zeros } from 'gradstream'
 *
 * setKernelThreads(2)
 * getKernelThreads() // 2 in Node on a machine with two cores or more
 * const y = matmul(zeros([5000, 784]), zeros([784, 50])) // rows split across both threads
 * setKernelThreads(1) // the helper exits
 * console.log(getKernelThreads()) // → 1
 * setKernelThreads('auto') // the default: two threads for the training step where it pays
 * ```
 * @param threads `1`, `2` or `'auto'`
 * @throws {TypeError} `setKernelThreads: threads: expected 1, 2 or "auto", got 4`
 * @see getKernelThreads, setKernelBackend, closeWorkers
 */
export function setKernelThreads(threads: 1 | 2 | 'auto'): void {
  if (threads !== 1 && threads !== 2 && threads !== 'auto') {
    throw new TypeError(`setKernelThreads: threads: expected 1, 2 or "auto", got ${show(threads)}`)
  }
  threadState.requested = threads
  if (threads !== 2) {
    largeProducts.run = null
    largeProducts.hold = null
    largeProducts.minWork = Infinity
    threadState.available = false
    stopHelper()
    if (threads === 'auto') resetChooser()
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
    largeProducts.hold = sharedHold
  }
}
