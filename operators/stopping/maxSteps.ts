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
 * import { pipe, toArray } from 'rxjs'
 * import { train } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * train({ params: [1], step })
 *   .pipe(maxSteps(100), toArray())
 *   .subscribe((states) => console.log(states.length, states.at(-1)?.stopReason))
 *   // → 101 { rule: 'maxSteps', steps: 100 }
 * // states 0…100: the initial one and 100 updates
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
