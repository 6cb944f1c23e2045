import type { TrainState } from '../state/types.js'

/**
 * The error a run fails with when user code throws (the objective, a gradient function, a
 * schedule, the step pipeline, the data source): it names the step being computed, keeps the
 * last good state (the last one emitted, so nothing already received is invalidated) and the
 * original error as `cause`.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { TrainError, train } from 'gradstream'
 * import { gradient, sgd } from 'gradstream/operators'
 *
 * const f = (x: number[]) => {
 *   if (x[0] < 0.5) throw new Error('out of range')
 *   return { loss: x[0] ** 2, grad: [2 * x[0]] }
 * }
 * train({ params: [1], step: pipe(gradient(f), sgd(0.2)) }).subscribe({
 *   error: (e) => {
 *     if (e instanceof TrainError) console.log(e.step, e.lastState.params, e.message)
 *     // → 3 [ 0.36 ] train: step 3: out of range
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
