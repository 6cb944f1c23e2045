import { asyncScheduler, type SchedulerLike } from 'rxjs'
import { expectInteger, expectNonNegative, show } from '../errors.js'
import type { TrainMode } from './mode.js'

/**
 * A driver mode that runs `steps` steps at a time, each chunk scheduled on `scheduler` after
 * `delay` ms, so a page stays responsive and a server keeps serving. The initial state is
 * emitted inside `subscribe`; the first chunk is already scheduled. Unsubscribing cancels the
 * pending chunk (no timer is left behind).
 *
 * @example
 * ```ts
 * import { animationFrameScheduler } from 'rxjs'
 * import { chunked, train } from 'gradstream'
 *
 * train({ params, step, mode: chunked({ steps: 200, scheduler: animationFrameScheduler }) })
 * ```
 * @param steps steps per chunk, a positive integer (default 100)
 * @param scheduler where chunks run (default `asyncScheduler`, i.e. setTimeout)
 * @param delay ms before each chunk, ≥ 0 (default 0)
 * @throws {RangeError} `chunked: steps: expected a positive integer, got 0`
 * @see sync, pausable
 */
export function chunked({
  steps = 100,
  scheduler = asyncScheduler,
  delay = 0,
}: {
  readonly steps?: number
  readonly scheduler?: SchedulerLike
  readonly delay?: number
} = {}): TrainMode {
  expectInteger('chunked', 'steps', steps, 1)
  expectNonNegative('chunked', 'delay', delay)
  if (typeof scheduler?.schedule !== 'function') {
    throw new TypeError(`chunked: scheduler: expected an RxJS scheduler, got ${show(scheduler)}`)
  }
  return { kind: 'chunked', steps, scheduler, delay }
}
