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
 * import { lastValueFrom, pipe, Subject } from 'rxjs'
 * import { chunked, train } from 'gradstream'
 * import { gradient, sgd, stopOn } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.01))
 * const stop$ = new Subject<void>() // in a page: fromEvent(stopButton, 'click')
 * const run = lastValueFrom(train({ params: [1], step, mode: chunked() }).pipe(stopOn(stop$)))
 * setTimeout(() => stop$.next(), 20)
 * console.log((await run).stopReason) // → { rule: 'stopOn' }
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
