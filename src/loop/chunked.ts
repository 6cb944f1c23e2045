import type * as t from 'io-ts'
import { asyncScheduler } from 'rxjs'
import { ChunkedOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import type { TrainMode } from './mode.js'

/**
 * A driver mode that runs `steps` steps at a time, each chunk scheduled on `scheduler` after
 * `delay` ms, so a page stays responsive and a server keeps serving. The initial state is
 * emitted inside `subscribe`; the first chunk is already scheduled. Unsubscribing cancels the
 * pending chunk (no timer is left behind).
 *
 * @example
 * ```ts
 * import { lastValueFrom, pipe } from 'rxjs'
 * import { chunked, train } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * // 200 steps per setTimeout turn; in a page, `scheduler: animationFrameScheduler`
 * // lets the browser paint between chunks
 * const run$ = train({ params: [1], step, mode: chunked({ steps: 200 }) }).pipe(maxSteps(1000))
 * const last = await lastValueFrom(run$)
 * console.log(last.step) // → 1000
 * ```
 * @param steps steps per chunk, a positive integer (default 100)
 * @param scheduler where chunks run (default `asyncScheduler`, i.e. setTimeout)
 * @param delay ms before each chunk, ≥ 0 (default 0)
 * @throws {TypeError} `chunked: options.step: expected no such key (known: steps, scheduler, delay), got 5`
 * @throws {RangeError} `chunked: steps: expected a positive integer, got 0`
 * @see sync, pausable
 */
export function chunked(options: t.TypeOf<typeof ChunkedOptionsC> = {}): TrainMode {
  decodeOptions(ChunkedOptionsC, options, 'chunked')
  const { steps = 100, scheduler = asyncScheduler, delay = 0 } = options
  return { kind: 'chunked', steps, scheduler, delay }
}
