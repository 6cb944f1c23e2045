import {
  concatWith,
  defer,
  EMPTY,
  map,
  type MonoTypeOperatorFunction,
  type Observable,
  of,
  takeUntil,
  takeWhile,
  tap,
} from 'rxjs'
import type { StopReason, TrainState } from '../../src/state/types.js'
import { StoppableRun } from '../../src/engine/fusion.js'

/**
 * `s` with `reason` recorded (a new frozen state; `s` is unchanged). The reason is copied with
 * `Object.assign`: a frozen `{ ...reason }` got a new hidden class at each call once V8's
 * feedback was warm, so the stop states' `stopReason` changed type at some run's end, which
 * threw the loop's optimised code (`train`'s pump, the whole step inlined) away and left the
 * next run to recompile it (bench/loop.bench.ts, W4: its 9th run onwards).
 */
export function withStopReason<S extends TrainState>(s: S, reason: StopReason): S {
  return Object.freeze({ ...s, stopReason: Object.freeze(Object.assign({}, reason)) })
}

/**
 * The shape every stopping rule has: a state for which `check` returns a reason is emitted
 * with it and the stream completes (upstream unsubscribed at once, so a synchronous driver
 * stops computing); an upstream state that already carries a reason ends it too. Piped straight
 * onto `train`'s run, the loop itself applies the rule and completes (StoppableRun), with the
 * same states, completion and errors.
 */
export function stopWhen<S extends TrainState>(
  check: (s: S) => StopReason | null,
): MonoTypeOperatorFunction<S> {
  const stop = (s: S): S => {
    if (s.stopReason !== undefined) return s
    const reason = check(s)
    return reason === null ? s : withStopReason(s, reason)
  }
  // on `train`'s run, the driver applies `stop` itself and completes after a state with a
  // reason (no operator hop per state, see src/engine/fusion.ts); elsewhere the same as operators
  return (source) =>
    source instanceof StoppableRun
      ? (source as StoppableRun<S>).stoppedBy(stop)
      : source.pipe(
          map(stop),
          takeWhile((s) => s.stopReason === undefined, true),
        )
}

/**
 * For rules that fire between states (a timer, a notifier): when `notifier$` emits, the
 * stream completes at once, re-emitting the last state it passed on, now carrying `reason`,
 * so the run's final emission always says why it stopped. Nothing is re-emitted if no state
 * came yet, or if the source ended first.
 */
export function stopOnSignal<S extends TrainState>(
  notifier$: Observable<unknown>,
  reason: () => StopReason,
): MonoTypeOperatorFunction<S> {
  return (source) =>
    defer(() => {
      let last: S | undefined
      let fired = false
      return source.pipe(
        tap((s) => {
          last = s
        }),
        takeUntil(
          notifier$.pipe(
            tap(() => {
              fired = true
            }),
          ),
        ),
        concatWith(
          defer(() =>
            fired && last !== undefined && last.stopReason === undefined
              ? of(withStopReason(last, reason()))
              : EMPTY,
          ),
        ),
      )
    })
}
