import type { TrainState } from '../state/types.js'

/**
 * The error a run fails with when user code throws (the objective, a gradient function, a
 * schedule, the step pipeline, the data source): it names the step being computed, keeps the
 * last good state (the last one emitted, so nothing already received is invalidated) and the
 * original error as `cause`.
 *
 * @example
 * ```ts
 * run$.subscribe({
 *   error: (e) => {
 *     if (e instanceof TrainError) console.log(e.step, e.lastState.params, e.cause)
 *   },
 * })
 * ```
 */
export class TrainError<S extends TrainState = TrainState> extends Error {
  override name = 'TrainError'
  /** The step that failed: `lastState.step + 1`. */
  readonly step: number
  /** The last state the run emitted before failing. */
  readonly lastState: S

  constructor(cause: unknown, step: number, lastState: S) {
    const why = cause instanceof Error ? cause.message : String(cause)
    super(`train: step ${step}: ${why}`, { cause })
    this.step = step
    this.lastState = lastState
  }
}
