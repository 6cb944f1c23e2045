import { asyncScheduler, defer, type Observable, type SchedulerLike, timer } from 'rxjs'
import { expectNonNegative, show } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import { stopOnSignal, stopWhen } from './stoppingInternals.js'

/**
 * Stops the run `ms` milliseconds after subscription, measured on `scheduler`'s clock. A state
 * that arrives at or after the deadline (a synchronous run checks the clock at every state)
 * is emitted with `stopReason: { rule: 'timeLimit', ms, elapsed }` and the stream completes;
 * if the deadline passes while waiting for the next state (an asynchronous run), the stream
 * completes at the deadline, re-emitting the last state with that reason. The timer is
 * cancelled with the subscription.
 *
 * @example
 * ```ts
 * import { lastValueFrom, pipe } from 'rxjs'
 * import { chunked, train } from 'gradstream'
 * import { gradient, sgd, timeLimit } from 'gradstream/operators'
 *
 * const step = pipe(
 *   gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })),
 *   sgd(0.01),
 * )
 * // an endless run, stopped after 50 ms (a real one: timeLimit(60_000), at most a minute)
 * const last = await lastValueFrom(
 *   train({ params: [1], step, mode: chunked() }).pipe(timeLimit(50)),
 * )
 * console.log(last.stopReason?.rule, last.step > 0) // → timeLimit true
 * ```
 * @param ms ≥ 0, finite
 * @param scheduler whose clock and timer to use (default `asyncScheduler`)
 * @throws {RangeError} `timeLimit: ms: expected a non-negative finite number, got -1`
 * @see maxSteps, stopOn
 */
export function timeLimit(ms: number, scheduler: SchedulerLike = asyncScheduler) {
  expectNonNegative('timeLimit', 'ms', ms)
  if (typeof scheduler?.now !== 'function') {
    throw new TypeError(`timeLimit: scheduler: expected an RxJS scheduler, got ${show(scheduler)}`)
  }
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    defer(() => {
      const start = scheduler.now()
      const reason = () => ({ rule: 'timeLimit', ms, elapsed: scheduler.now() - start })
      return source.pipe(
        stopWhen<S>(() => (scheduler.now() - start >= ms ? reason() : null)),
        stopOnSignal<S>(timer(ms, scheduler), reason),
      )
    })
}
