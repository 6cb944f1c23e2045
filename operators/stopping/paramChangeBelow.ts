import { defer, type Observable } from 'rxjs'
import { expectPositive } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import { flatten, type Params } from '../../src/tree/tree.js'
import { stopWhen } from './stoppingInternals.js'

/**
 * Emits states until the first whose parameters moved less than `threshold` since the state
 * before (`‖θₖ − θₖ₋₁‖₂ < threshold`), emits it with
 * `stopReason: { rule: 'paramChangeBelow', threshold, change }`, then completes. Remembers
 * the previous state's parameters per subscription (a reference: states are immutable).
 *
 * @example
 * ```ts
 * import { last } from 'rxjs'
 * import { gradientDescent, tensor } from 'gradstream'
 * import { paramChangeBelow } from 'gradstream/operators'
 *
 * const f = (x: { data: Float64Array }) => x.data[0] ** 2 + x.data[1] ** 2
 * gradientDescent(f, tensor([-3, 4]), { lr: 0.1, stepNum: 10_000 })
 *   .pipe(paramChangeBelow(1e-9), last())
 *   .subscribe((s) => console.log(s.step, s.stopReason?.rule)) // → 94 paramChangeBelow
 * ```
 * @param threshold a positive finite number
 * @throws {RangeError} `paramChangeBelow: threshold: expected a positive finite number, got -1`
 * @see gradNormBelow, earlyStopping
 */
export function paramChangeBelow(threshold: number) {
  expectPositive('paramChangeBelow', 'threshold', threshold)
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    defer(() => {
      let prev: Params | undefined
      return source.pipe(
        stopWhen<S>((s) => {
          const before = prev
          prev = s.params
          if (before === undefined) return null
          const a = flatten(s.params)
          const b = flatten(before)
          let sum = 0
          for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) * (a[i] - b[i])
          const change = Math.sqrt(sum)
          return change < threshold ? { rule: 'paramChangeBelow', threshold, change } : null
        }),
      )
    })
}
