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
 * import { BehaviorSubject } from 'rxjs'
 * import { chunked, pausable, train } from 'gradstream'
 *
 * const paused$ = new BehaviorSubject(false)
 * train({ params, step, mode: pausable(paused$, chunked({ steps: 50 })) }).subscribe(draw)
 * pauseButton.onclick = () => paused$.next(!paused$.value)
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
