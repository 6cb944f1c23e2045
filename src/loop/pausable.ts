import { isObservable, type Observable } from 'rxjs'
import { show } from '../errors.js'
import { sync } from './sync.js'
import type { TrainMode } from './mode.js'

/**
 * Adds pause/resume to a driver mode: while the latest value of `paused$` is `true` no new step
 * starts (a step in progress finishes and is emitted); `false` resumes, synchronously in the
 * emitter's turn in sync mode, on the scheduler in chunked mode. `paused$` is subscribed with
 * the run and unsubscribed with it; if it errors, the run errors.
 *
 * @example
 * ```ts
 * import { BehaviorSubject, lastValueFrom, pipe, tap } from 'rxjs'
 * import { chunked, pausable, train } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * // in a page: pauseButton.onclick = () => paused$.next(!paused$.value)
 * const paused$ = new BehaviorSubject(false)
 * const run$ = train({ params: [1], step, mode: pausable(paused$, chunked({ steps: 50 })) }).pipe(
 *   tap((s) => {
 *     if (s.step !== 100) return
 *     paused$.next(true) // pause after step 100 …
 *     setTimeout(() => paused$.next(false), 20) // … and resume 20 ms later
 *   }),
 *   maxSteps(200),
 * )
 * console.log((await lastValueFrom(run$)).step) // → 200
 * ```
 * @param paused$ Observable<boolean>: true pauses, false resumes
 * @param mode the mode to pause (default `sync()`)
 * @throws {TypeError} `pausable: paused$: expected an Observable<boolean>, got 1`
 * @see sync, chunked
 */
export function pausable(paused$: Observable<boolean>, mode: TrainMode = sync()): TrainMode {
  if (!isObservable(paused$)) {
    throw new TypeError(`pausable: paused$: expected an Observable<boolean>, got ${show(paused$)}`)
  }
  return { ...mode, paused$ }
}
