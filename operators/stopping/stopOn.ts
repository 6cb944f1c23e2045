import { isObservable, type Observable } from 'rxjs'
import { show } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import { stopOnSignal } from './stoppingInternals.js'

/**
 * Stops the run when `notifier$` emits (a Stop button, a signal, another run finishing): the
 * stream completes at once (upstream unsubscribed, so computation halts), re-emitting the last
 * state it passed on with `stopReason: { rule: 'stopOn' }`, so the final emission says why.
 * A notifier that completes without emitting does nothing.
 *
 * @example
 * ```ts
 * import { fromEvent } from 'rxjs'
 *
 * train({ params, step, mode: chunked() }).pipe(stopOn(fromEvent(stopButton, 'click')))
 * ```
 * @param notifier$ any Observable
 * @throws {TypeError} `stopOn: notifier$: expected an Observable, got undefined`
 * @see timeLimit, maxSteps
 */
export function stopOn(notifier$: Observable<unknown>) {
  if (!isObservable(notifier$)) {
    throw new TypeError(`stopOn: notifier$: expected an Observable, got ${show(notifier$)}`)
  }
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    source.pipe(stopOnSignal<S>(notifier$, () => ({ rule: 'stopOn' })))
}
