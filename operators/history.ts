import { map, type Observable, toArray } from 'rxjs'
import type { TrainState } from '../src/state/types.js'
import type { Params } from '../src/tree/tree.js'

/**
 * Collects the path: emits, when the run completes, the array of every state's parameters in
 * order (x₀, x₁, …, xₙ). The book's `x_history` is this path without its last element (the
 * book records x before each update), and its returned `x` is the last element.
 *
 * @example
 * ```ts
 * import { gradientDescent, tensor } from 'gradstream'
 * import { history } from 'gradstream/operators'
 *
 * gradientDescent((x) => x.data[0] ** 2 + x.data[1] ** 2, tensor([-3, 4]), {
 *   lr: 0.1,
 *   stepNum: 20,
 * })
 *   .pipe(history())
 *   .subscribe((path) => console.log(path.length)) // → 21
 * ```
 * @see gradientDescent
 */
export function history() {
  return <P extends Params>(source: Observable<TrainState<P>>): Observable<P[]> =>
    source.pipe(
      map((s) => s.params),
      toArray(),
    )
}
