import type * as t from 'io-ts'
import { defer, map, type Observable } from 'rxjs'
import { EarlyStoppingOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { TrainState } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import { stopWhen, withStopReason } from './stoppingInternals.js'

/**
 * Stops when the monitored value (by default `loss`) has not improved by more than
 * `minDelta` for `patience` states in a row: emits that state with
 * `stopReason: { rule: 'earlyStopping', patience, minDelta, bestLoss, bestStep }` and
 * completes. With `restoreBest` the final state's `params` are the best ones: those the best
 * loss was measured at, i.e. the parameters of state `bestStep` (a state's `loss` is measured
 * at the parameters the update started from, the previous state's). NaN never improves;
 * the initial state (loss NaN, nothing evaluated) is not counted.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { earlyStopping, gradient, sgd } from 'gradstream/operators'
 *
 * // w = 3 → 1.5 → 0.75 → …, but the loss has a floor: max(w, 1)² stops improving at w = 0.75
 * const f = ([w]: number[]) => ({ loss: Math.max(w, 1) ** 2, grad: [w] })
 * train({ params: [3], step: pipe(gradient(f), sgd(0.5)) })
 *   .pipe(earlyStopping({ patience: 5, minDelta: 1e-6, restoreBest: true }), last())
 *   .subscribe((s) => console.log(s.step, s.params, s.stopReason?.rule))
 *   // → 8 [ 0.75 ] earlyStopping
 * ```
 * @param patience states without improvement before stopping, a positive integer
 * @param minDelta least decrease that counts as improvement, ≥ 0 (default 0)
 * @param restoreBest emit the best parameters on the final state (default false)
 * @param monitor what to watch, default `(s) => s.loss` (e.g. `(s) => s.metrics.valLoss`)
 * @throws {RangeError} `earlyStopping: patience: expected a positive integer, got 0`
 * @see lossBelow, reduceLrOnPlateau
 */
export function earlyStopping(options: t.TypeOf<typeof EarlyStoppingOptionsC>) {
  const fn = 'earlyStopping'
  decodeOptions(EarlyStoppingOptionsC, options, fn)
  const { patience, minDelta = 0, restoreBest = false, monitor } = options
  const watch = monitor ?? ((s: TrainState) => s.loss)
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    defer(() => {
      let best = Infinity
      let bestStep = -1
      let bestParams: Params | undefined
      let bad = 0
      let prev: S | undefined
      return source.pipe(
        stopWhen<S>((s) => {
          const before = prev
          prev = s
          if (s.grad === null && s.step === 0) return null
          const v = watch(s)
          if (v < best - minDelta) {
            best = v
            // the loss of state k was measured at the parameters of state k − 1
            const at = monitor === undefined && before !== undefined ? before : s
            bestStep = at.step
            bestParams = at.params
            bad = 0
            return null
          }
          bad++
          if (bad < patience) return null
          return { rule: fn, patience, minDelta, bestLoss: best, bestStep }
        }),
        map((s) =>
          restoreBest && s.stopReason?.rule === fn && bestParams !== undefined
            ? withStopReason({ ...s, params: bestParams }, s.stopReason)
            : s,
        ),
      )
    })
}
