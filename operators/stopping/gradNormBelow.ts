import type { Observable } from 'rxjs'
import { expectPositive } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import { globalNorm } from '../../src/tree/tree.js'
import { stopWhen } from './stoppingInternals.js'

/**
 * Emits states until the first whose gradient has `‖grad‖₂ < threshold` (over all
 * parameters together), emits it with `stopReason: { rule: 'gradNormBelow', threshold, norm }`,
 * then completes. The initial state has no gradient and never meets it.
 *
 * @example
 * ```ts
 * import { last } from 'rxjs'
 * import { gradientDescent, tensor } from 'gradstream'
 * import { gradNormBelow } from 'gradstream/operators'
 *
 * const f = (x: { data: Float64Array }) => x.data[0] ** 2 + x.data[1] ** 2
 * gradientDescent(f, tensor([-3, 4]), { lr: 0.1, stepNum: 10_000 })
 *   .pipe(gradNormBelow(1e-6), last())
 *   .subscribe((s) => console.log(s.step)) // → 74
 * ```
 * @param threshold a positive finite number
 * @throws {RangeError} `gradNormBelow: threshold: expected a positive finite number, got 0`
 * @see paramChangeBelow, lossBelow
 */
export function gradNormBelow(threshold: number) {
  expectPositive('gradNormBelow', 'threshold', threshold)
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    source.pipe(
      stopWhen<S>((s) => {
        if (s.grad === null) return null
        const norm = globalNorm(s.grad)
        return norm < threshold ? { rule: 'gradNormBelow', threshold, norm } : null
      }),
    )
}
