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
 * import { pipe } from 'rxjs'
 * import { ad, autodiff, train } from 'gradstream'
 * import { gradient, sgd } from 'gradstream/operators'
 *
 * const loss = (p, b) => ad.softmaxCrossEntropy(ad.add(ad.matmul(b.x, p.W), p.b), b.t)
 * train({ params, data: randomBatches(mnist.train, { batchSize: 100, seed: 1 }),
 *         step: pipe(gradient(autodiff(loss)), sgd(0.1)) })
 * ```
 * @see valueAndGrad, ad
 */
export function autodiff<T = never, B = unknown>(
  f: (params: T, batch: B) => Var,
): <P extends Params>(params: P, batch: B) => { value: number; grad: P } {
  return valueAndGrad(f)
}
