import { mapTree } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, nonNegative, positive } from '../hyperparamInternals.js'
import { asOperator, slotName, type TransformOperator } from './transformInternals.js'

/**
 * Scales the updates by minus the learning rate, u ← −η·u, so that `applyUpdates` descends
 * (optax's `scale_by_learning_rate`). Records η as `state.lr` and
 * `state.hyper['scaleByLearningRate.lr']`. Stateless: it has no slot.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs'
 * import { scaleByLearningRate, applyUpdates } from 'gradstream/operators'
 *
 * of(state) // params { w: 1 }, updates = grad = { w: 2 }
 *   .pipe(scaleByLearningRate(0.1), applyUpdates())
 *   .subscribe((s) => console.log(s.params.w, s.lr)) // 0.8 0.1
 * ```
 * @param lr η: a positive number, a schedule `(step) => number` (≥ 0) or an Observable of
 *   numbers ≥ 0 (its latest value; see `Hyperparam` for before its first emission)
 * @param options.name slot name (default `scaleByLearningRate`)
 * @throws {RangeError} `scaleByLearningRate: lr: expected a positive finite number, got -0.1`
 * @see scale, sgd
 */
export function scaleByLearningRate(
  lr: Hyperparam,
  options: { readonly name?: string } = {},
): TransformOperator<undefined> {
  const fn = 'scaleByLearningRate'
  return asOperator<undefined>({
    name: slotName(fn, options.name),
    hyper: { lr: hyperparam(fn, 'lr', lr, nonNegative, positive) },
    lrField: 'lr',
    init: () => undefined,
    update: (u, _, { hyper }) => [mapTree(u, (v) => -hyper.lr * v), undefined],
  })
}
