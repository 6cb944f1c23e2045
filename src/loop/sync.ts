import type { TrainMode } from './mode.js'

/**
 * The default driver mode: steps run back to back, synchronously, inside `subscribe` (a
 * trampoline, so a million steps use constant stack). An asynchronous step or data source
 * makes the loop wait for it and continue when it delivers.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { sync, train } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * let steps = 0
 * train({ params: [1], step, mode: sync() }) // same as leaving mode out
 *   .pipe(maxSteps(1000))
 *   .subscribe(() => steps++)
 * console.log(steps) // → 1001
 * // all of it ran inside subscribe: states 0…1000
 * ```
 * @see chunked, pausable
 */
export function sync(): TrainMode {
  return { kind: 'sync' }
}
