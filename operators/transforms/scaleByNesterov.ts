import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, unitInterval } from '../../src/engine/hyperparams.js'
import { applyLeafwise, leafwise } from '../../src/engine/leaves.js'
import {
  asOperator,
  slotName,
  type TransformOperator,
  checkOptions,
} from '../../src/engine/transform.js'

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
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   scaleByLearningRate,
 *   scaleByNesterov,
 * } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // first step from v = 0: v = g = 2, update g + 0.9·v
 * const step = pipe(
 *   gradient(f),
 *   scaleByNesterov(0.9),
 *   tap((s) => console.log(s.updates.w)), // → 3.8
 *   scaleByLearningRate(0.1),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
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
  checkOptions(fn, options, ['name'])
  return asOperator<ScaleByNesterovState>({
    name: slotName(fn, options.name),
    hyper: { beta: hyperparam(fn, 'beta', beta, unitInterval) },
    init: (params) => ({ velocity: zerosLikeTree(params) }),
    update: (u, { velocity }, { hyper: { beta } }) => {
      const [v, out] = leafwise(fn, [velocity, u], 2, ([v0, g], [v, o]) =>
        nesterovLeaf(v0, g, v, o, beta),
      )
      return [out, { velocity: v }]
    },
    applyTo: (params, u, { velocity }, { hyper: { beta } }, a) => {
      const [theta, [v]] = applyLeafwise(fn, [velocity, u], 1, params, u, ([v0, g], p, [v], q) =>
        nesterovApplyLeaf(v0, g, p, v, q, beta, a),
      )
      return [theta, { velocity: v }]
    },
  })
}

/** v = β·v₀ + g and o = g + β·v on one leaf. */
function nesterovLeaf(
  v0: Float64Array,
  g: Float64Array,
  v: Float64Array,
  o: Float64Array,
  beta: number,
): void {
  for (let i = 0; i < v.length; i++) {
    const gi = g[i]
    const vi = beta * v0[i] + gi
    v[i] = vi
    o[i] = gi + beta * vi
  }
}

/** `nesterovLeaf` and then q = p + a·o, in one pass. */
function nesterovApplyLeaf(
  v0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  v: Float64Array,
  q: Float64Array,
  beta: number,
  a: number,
): void {
  for (let i = 0; i < v.length; i++) {
    const gi = g[i]
    const vi = beta * v0[i] + gi
    v[i] = vi
    q[i] = p[i] + a * (gi + beta * vi)
  }
}
