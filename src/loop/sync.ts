import type { TrainMode } from './mode.js'

/**
 * The default driver mode: steps run back to back, synchronously, inside `subscribe` (a
 * trampoline, so a million steps use constant stack). An asynchronous step or data source
 * makes the loop wait for it and continue when it delivers.
 *
 * @example
 * ```ts
 * import { sync, train } from 'gradstream'
 *
 * train({ params, step, mode: sync() }) // same as leaving mode out
 * ```
 * @see chunked, pausable
 */
export function sync(): TrainMode {
  return { kind: 'sync' }
}
