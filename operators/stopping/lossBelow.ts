import type { Observable } from 'rxjs'
import { expectFinite } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import { stopWhen } from './stoppingInternals.js'

/**
 * Emits states until the first with `loss < threshold`, emits that one too with its
 * `stopReason` set (`{ rule: 'lossBelow', threshold, loss }`), then completes. A NaN loss
 * (the initial state's, or a diverged one) never meets it: that is `stopOnNonFinite`'s job.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs'
 * import { lossBelow } from 'gradstream/operators'
 *
 * of(s0, s1, s2) // losses NaN, 0.02, 0.01
 *   .pipe(lossBelow(0.05))
 *   .subscribe((s) => console.log(s.step)) // 0, then 1
 * ```
 * @param threshold a finite number
 * @throws {RangeError} `lossBelow: threshold: expected a finite number, got NaN`
 * @see maxSteps, earlyStopping, stopOnNonFinite
 */
export function lossBelow(threshold: number) {
  expectFinite('lossBelow', 'threshold', threshold)
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    source.pipe(
      stopWhen<S>((s) =>
        s.loss < threshold ? { rule: 'lossBelow', threshold, loss: s.loss } : null,
      ),
    )
}
