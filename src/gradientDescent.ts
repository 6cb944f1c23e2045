import type { Observable } from 'rxjs'
import { pipe } from 'rxjs'
import { gradient } from '../operators/gradient.js'
import { loss } from '../operators/loss.js'
import { perturb } from '../operators/perturb.js'
import { centralDifference } from '../operators/perturbations/centralDifference.js'
import { maxSteps } from '../operators/stopping/maxSteps.js'
import { update } from '../operators/update.js'
import { expectFunction, expectInteger, expectPositive, show } from './errors.js'
import type { TrainState } from './state/types.js'
import { train } from './train.js'
import type { Params } from './tree/tree.js'

/**
 * The book's `gradient_descent(f, init_x, lr=0.01, step_num=100)` as a stream: central
 * differences with h = 1e-4 (`numerical_gradient`) and `x -= lr * grad`, `stepNum` times,
 * bit for bit. Emits the initial state and the state after every step (`stepNum + 1` in
 * all), the last with `stopReason: { rule: 'maxSteps', steps: stepNum }`; pipe `history()`
 * for the book's `x_history`. `init` is copied, never mutated.
 *
 * @example
 * ```ts
 * import { last } from 'rxjs'
 * import { gradientDescent, tensor } from 'gradstream'
 *
 * gradientDescent((x) => x.data[0] ** 2 + x.data[1] ** 2, tensor([-3, 4]), {
 *   lr: 0.1,
 *   stepNum: 100,
 * })
 *   .pipe(last())
 *   .subscribe((s) => console.log(s.params.data))
 * // → Float64Array(2) [ -6.111107928998789e-10, 8.148143905314271e-10 ]
 * ```
 * @param lr learning rate, positive finite (default 0.01)
 * @param stepNum number of updates, a non-negative integer (default 100)
 * @throws {RangeError} `gradientDescent: lr: expected a positive finite number, got 0`
 * @see train, history
 */
export function gradientDescent<P extends Params>(
  f: (x: P) => number,
  init: P,
  options: { readonly lr?: number; readonly stepNum?: number } = {},
): Observable<TrainState<P>> {
  const fn = 'gradientDescent'
  expectFunction(fn, 'f', f)
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn}: options: expected an object, got ${show(options)}`)
  }
  const { lr = 0.01, stepNum = 100 } = options
  expectPositive(fn, 'lr', lr)
  expectInteger(fn, 'stepNum', stepNum)
  return train({
    params: init,
    step: pipe(perturb(centralDifference({ h: 1e-4 })), loss(f), gradient(), update(lr)),
  }).pipe(maxSteps(stepNum))
}
