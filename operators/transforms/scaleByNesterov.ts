import { type Params, zerosLikeTree, zipTree } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, unitInterval } from '../hyperparamInternals.js'
import { asOperator, slotName, type TransformOperator } from './transformInternals.js'

/** The slot of `scaleByNesterov`: the velocity, shaped like the parameters. */
export interface ScaleByNesterovState {
  readonly velocity: Params
}

/**
 * Nesterov momentum in the form torch.optim.SGD(nesterov=True) and optax's
 * `trace(nesterov=True)` use: v ← β·v + u; the update is u + β·v (with the new v). Followed by
 * `scaleByLearningRate(η)` this is θ ← θ − η·(g + β·v).
 *
 * @example
 * ```ts
 * import { of } from 'rxjs'
 * import { scaleByNesterov } from 'gradstream/operators'
 *
 * of(state) // updates { w: 2 }, no velocity yet
 *   .pipe(scaleByNesterov(0.9))
 *   .subscribe((s) => console.log(s.updates.w)) // 2 + 0.9·2 = 3.8
 * ```
 * @param beta β in [0, 1), default 0.9 (a number, schedule or Observable)
 * @param options.name slot name (default `scaleByNesterov`)
 * @throws {RangeError} `scaleByNesterov: beta: expected a number in [0, 1), got -0.5`
 * @see scaleByMomentum, nesterov
 */
export function scaleByNesterov(
  beta: Hyperparam = 0.9,
  options: { readonly name?: string } = {},
): TransformOperator<ScaleByNesterovState> {
  const fn = 'scaleByNesterov'
  return asOperator<ScaleByNesterovState>({
    name: slotName(fn, options.name),
    hyper: { beta: hyperparam(fn, 'beta', beta, unitInterval) },
    init: (params) => ({ velocity: zerosLikeTree(params) }),
    update: (u, { velocity }, { hyper: { beta } }) => {
      const v = zipTree(velocity, u, (v, g) => beta * v + g, fn)
      return [zipTree(u, v, (g, v) => g + beta * v, fn), { velocity: v }]
    },
  })
}
