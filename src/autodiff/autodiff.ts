import type { Params } from '../tree/tree.js'
import type { Var } from './tape.js'
import { valueAndGrad } from './valueAndGrad.js'

/**
 * Reverse-mode autodiff as the loop's gradient source: `gradient(autodiff(f))` puts the exact
 * gradient of a loss written with the `ad` ops into the step, in place of `perturb → loss →
 * gradient()`'s estimate (one evaluation per step, at any number of parameters). `f` receives
 * the traced parameters and the step's batch (the `data` item `train` put on the state).
 * The same function as `valueAndGrad(f)`, named for where it goes.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { ad, autodiff, tensor, train, type Tensor, type Var } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * // a linear softmax classifier; one backward pass per step, however many parameters
 * type Batch = { x: Tensor; t: Tensor }
 * const loss = (p: { W: Var; b: Var }, { x, t }: Batch) =>
 *   ad.softmaxCrossEntropy(ad.add(ad.matmul(x, p.W), p.b), t)
 * const params = { W: tensor([[0, 0], [0, 0]]), b: tensor([0, 0]) }
 * const batch: Batch = { x: tensor([[1, 0], [0, 1]]), t: tensor([0, 1]) }
 * train({
 *   params,
 *   data: Array.from({ length: 50 }, () => batch), // any iterable or Observable of batches
 *   step: pipe(gradient<typeof params, Batch>(autodiff(loss)), sgd(0.5)),
 * })
 *   .pipe(maxSteps(50), last())
 *   .subscribe((s) => console.log(s.step, s.loss.toFixed(3))) // → 50 0.043
 * ```
 * @see valueAndGrad, ad
 */
export function autodiff<T = never, B = unknown>(
  f: (params: T, batch: B) => Var,
): <P extends Params>(params: P, batch: B) => { value: number; grad: P } {
  return valueAndGrad(f)
}
