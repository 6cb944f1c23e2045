import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import { type Hyperparam, hyperparam, unitInterval } from '../../src/engine/hyperparams.js'
import { positionalOptions, type TransformOperator } from '../../src/engine/transform.js'
import { ScaleByMomentumOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'
import type { ScaleByMomentumOptions } from './scaleByMomentum.js'

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
 *   scaleByNesterov({ beta: 0.9 }),
 *   tap((s) => console.log(s.updates.w)), // → 3.8
 *   scaleByLearningRate(0.1),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param options.beta β in [0, 1), default 0.9 (a number, schedule or Observable)
 * @param options.name slot name (default `scaleByNesterov`)
 * @throws {RangeError} `scaleByNesterov: beta: expected a number in [0, 1), got -0.5`
 * @see scaleByMomentum, nesterov
 */
export function scaleByNesterov(
  options?: ScaleByMomentumOptions,
): TransformOperator<ScaleByNesterovState>
/** @deprecated β positional, kept for one release: write `scaleByNesterov({ beta, name })`. */
export function scaleByNesterov(
  beta: Hyperparam,
  options?: { readonly name?: string },
): TransformOperator<ScaleByNesterovState>
export function scaleByNesterov(...args: unknown[]): TransformOperator<ScaleByNesterovState> {
  const fn = 'scaleByNesterov'
  const o = decodeOptions(ScaleByMomentumOptionsC, positionalOptions(fn, ['beta'], args), fn)
  return gradientTransform<ScaleByNesterovState>({
    name: o.name ?? fn,
    hyper: { beta: hyperparam(fn, 'beta', o.beta ?? 0.9, unitInterval) },
    init: (params) => ({ velocity: zerosLikeTree(params) }),
    update: elementwise({ trees: ['velocity'], rule: nesterovRule }),
  })
}

/** v ← β·v + g; the update is g + β·v. */
function nesterovRule(
  { beta }: { beta: number },
  g: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
) {
  const v = (next.velocity[i] = beta * old.velocity[i] + g)
  return g + beta * v
}
