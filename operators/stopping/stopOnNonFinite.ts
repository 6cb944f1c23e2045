import type { Observable } from 'rxjs'
import type { TrainState } from '../../src/state/types.js'
import { isTensor } from '../../src/tensor/tensor.js'
import { flatten, pathAt, type Params } from '../../src/tree/tree.js'
import { stopWhen } from './stoppingInternals.js'

/**
 * Emits states until the first with a non-finite loss (NaN or ±Infinity, after the initial
 * state, whose loss is NaN because nothing was evaluated yet) or a non-finite parameter,
 * emits it with a reason that says what went wrong, then completes:
 * `{ rule: 'stopOnNonFinite', field: 'loss', value: NaN, message: 'loss is NaN at step 12' }`
 * or `{ …, field: 'params', path: 'W[0,1]', value: Infinity, message: 'params W[0,1] is Infinity at step 12' }`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { gradient, sgd, stopOnNonFinite } from 'gradstream/operators'
 *
 * // lr 10 on x²: each step multiplies x by −19 until the loss overflows
 * const f = (x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })
 * train({ params: [1], step: pipe(gradient(f), sgd(10)) })
 *   .pipe(stopOnNonFinite(), last())
 *   .subscribe((s) => console.log(s.stopReason?.message)) // → loss is Infinity at step 122
 * ```
 * @see lossBelow, maxSteps
 */
export function stopOnNonFinite() {
  return <S extends TrainState>(source: Observable<S>): Observable<S> =>
    source.pipe(
      stopWhen<S>((s) => {
        if (s.grad !== null && !Number.isFinite(s.loss)) {
          const message = `loss is ${String(s.loss)} at step ${s.step}`
          return { rule: 'stopOnNonFinite', field: 'loss', value: s.loss, message }
        }
        const index = firstNonFinite(s.params)
        if (index < 0) return null
        const path = pathAt(s.params, index)
        const value = flatten(s.params)[index]
        const message = `params ${path} is ${String(value)} at step ${s.step}`
        return { rule: 'stopOnNonFinite', field: 'params', path, value, message }
      }),
    )
}

/** The flat index of the first non-finite scalar, or −1 (no allocation on the happy path). */
function firstNonFinite(p: Params): number {
  let k = 0
  const go = (q: Params): boolean => {
    if (typeof q === 'number') {
      if (!Number.isFinite(q)) return true
      k++
      return false
    }
    if (isTensor(q)) {
      const d = q.data
      for (let i = 0; i < d.length; i++, k++) if (!Number.isFinite(d[i])) return true
      return false
    }
    if (Array.isArray(q)) return q.some(go)
    return Object.keys(q)
      .sort()
      .some((key) => go((q as { [key: string]: Params })[key]))
  }
  return go(p) ? k : -1
}
