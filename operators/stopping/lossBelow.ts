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
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { gradient, lossBelow, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.25))
 * // losses: NaN (nothing evaluated yet), 1, 0.25, 0.0625, 0.015625
 * train({ params: [1], step })
 *   .pipe(lossBelow(0.05))
 *   .subscribe((s) => console.log(s.step, s.loss)) // → 0 NaN, 1 1, 2 0.25, 3 0.0625, 4 0.015625
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
