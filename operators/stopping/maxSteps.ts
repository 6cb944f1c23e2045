import type { Observable } from 'rxjs'
import { expectInteger } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import { stopWhen } from './stoppingInternals.js'

/**
 * Emits states up to and including the first with `step ≥ n`, which carries
 * `stopReason: { rule: 'maxSteps', steps: n }`, then completes. From a fresh run (step 0)
 * that is exactly n + 1 states: the initial one and n updates.
 *
 * @example
 * ```ts
 * train({ params, step }).pipe(maxSteps(100)) // steps 0…100, then complete
 * ```
 * @param n a non-negative integer
 * @throws {RangeError} `maxSteps: n: expected a non-negative integer, got -1`
 * @see lossBelow, timeLimit
 */
export function maxSteps(n: number) {
  expectInteger('maxSteps', 'n', n)
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    source.pipe(stopWhen<S>((s) => (s.step >= n ? { rule: 'maxSteps', steps: n } : null)))
}
