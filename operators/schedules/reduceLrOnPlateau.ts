import type * as t from 'io-ts'
import { map, type Observable } from 'rxjs'
import { ReduceLrOnPlateauOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { WithGradient } from '../../src/state/types.js'
import { mapTree } from '../../src/tree/tree.js'

/** What `reduceLrOnPlateau` remembers, in `state.opt.reduceLrOnPlateau`. */
export interface ReduceLrOnPlateauState {
  /** the factor the updates are multiplied by: factorᵏ after k reductions */
  readonly scale: number
  /** the best loss seen so far */
  readonly best: number
  /** steps since the best loss last improved by more than minDelta */
  readonly bad: number
}

/**
 * Reduces the learning rate when the loss stops improving (Keras' `ReduceLROnPlateau`,
 * optax's `reduce_on_plateau`): a step whose `baseLoss < best − minDelta` is an improvement;
 * after `patience` steps in a row without one, the scale is multiplied by `factor` (not below
 * `minScale`) and the count restarts. The updates are multiplied by the scale, and `state.lr`
 * too, so put it after `scaleByLearningRate`: `pipe(…, gradient(), scaleByLearningRate(0.1),
 * reduceLrOnPlateau({ factor: 0.5, patience: 10 }), applyUpdates())`. Its memory is data in
 * `state.opt.reduceLrOnPlateau` (see `ReduceLrOnPlateauState`), never a closure, so a
 * checkpoint resumes it; the scale is recorded as `state.hyper['reduceLrOnPlateau.scale']`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   reduceLrOnPlateau,
 *   scaleByLearningRate,
 * } from 'gradstream/operators'
 *
 * // a loss with a floor: once w < 1 it stops improving, and the rate is halved every 5 steps
 * const f = ([w]: number[]) => ({ loss: Math.max(w, 1) ** 2, grad: [2 * w] })
 * const step = pipe(
 *   gradient(f),
 *   scaleByLearningRate(0.1),
 *   reduceLrOnPlateau({ factor: 0.5, patience: 5 }),
 *   applyUpdates(),
 * )
 * train({ params: [2], step })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.step, s.opt))
 *   // → 30 { reduceLrOnPlateau: { scale: 0.03125, best: 1, bad: 0 } }
 * ```
 * @param factor multiplier per reduction, in (0, 1) (default 0.1)
 * @param patience steps without improvement before reducing, a positive integer (default 10)
 * @param minDelta least decrease that counts as improvement, ≥ 0 (default 1e-4)
 * @param minScale the scale never goes below this, in [0, 1] (default 0)
 * @throws {RangeError} `reduceLrOnPlateau: factor: expected a number in [0, 1), got 1`
 * @see scaleByLearningRate, earlyStopping
 */
export function reduceLrOnPlateau(options: t.TypeOf<typeof ReduceLrOnPlateauOptionsC> = {}) {
  const fn = 'reduceLrOnPlateau'
  decodeOptions(ReduceLrOnPlateauOptionsC, options, fn)
  const { factor = 0.1, patience = 10, minDelta = 1e-4, minScale = 0 } = options
  return <S extends WithGradient>(source: Observable<S>): Observable<S> =>
    source.pipe(
      map((s) => {
        const prev = s.opt[fn] as ReduceLrOnPlateauState | undefined
        const memory = next(prev ?? { scale: 1, best: Infinity, bad: 0 }, s.baseLoss)
        const scale = memory.scale
        return Object.freeze({
          ...s,
          updates: scale === 1 ? s.updates : mapTree(s.updates, (u) => u * scale),
          lr: s.lr * scale,
          opt: Object.freeze({ ...s.opt, [fn]: memory }),
          hyper: Object.freeze({ ...s.hyper, [`${fn}.scale`]: scale }),
        })
      }),
    )

  function next(m: ReduceLrOnPlateauState, loss: number): ReduceLrOnPlateauState {
    if (loss < m.best - minDelta) return Object.freeze({ scale: m.scale, best: loss, bad: 0 })
    const bad = m.bad + 1
    if (bad < patience) return Object.freeze({ scale: m.scale, best: m.best, bad })
    return Object.freeze({ scale: Math.max(m.scale * factor, minScale), best: m.best, bad: 0 })
  }
}
