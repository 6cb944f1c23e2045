import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import { type Hyperparam, hyperparam, unitInterval } from '../../src/engine/hyperparams.js'
import { positionalOptions, type TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { ScaleByMomentumOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByMomentum`: the velocity, shaped like the parameters. */
export interface ScaleByMomentumState {
  readonly velocity: Params
}

/** Options of `scaleByMomentum` and `scaleByNesterov`: β in [0, 1) (default 0.9), the slot name. */
export type ScaleByMomentumOptions = t.TypeOf<typeof ScaleByMomentumOptionsC>

/**
 * Heavy-ball momentum (Polyak): v ← β·v + u; the update is v.
 *
 * Where the learning rate is applied decides which classic form this is. After
 * `scaleByLearningRate` (u = −η·g) it is the book's `Momentum`, v ← β·v − η·g, θ ← θ + v (bit
 * for bit; this is `momentum(η, β)`); before it, it is torch.optim.SGD's momentum (dampening 0)
 * and optax's `trace`, v ← β·v + g, θ ← θ − η·v. The two agree for a constant η.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   scaleByLearningRate,
 *   scaleByMomentum,
 * } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // the book's Momentum: v ← 0.9·v − 0.1·∇f, w ← w + v
 * const momentum = scaleByMomentum({ beta: 0.9 })
 * const step = pipe(gradient(f), scaleByLearningRate(0.1), momentum, applyUpdates())
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.params.w, s.opt.scaleByMomentum))
 * // → 0.45999999999999996 { velocity: { w: -0.3400000000000001 } }
 * ```
 * @param options.beta β in [0, 1), default 0.9 (a number, schedule or Observable)
 * @param options.name slot name (default `scaleByMomentum`)
 * @throws {RangeError} `scaleByMomentum: beta: expected a number in [0, 1), got 1`
 * @see scaleByNesterov, momentum
 */
export function scaleByMomentum(
  options?: ScaleByMomentumOptions,
): TransformOperator<ScaleByMomentumState>
/** @deprecated β positional, kept for one release: write `scaleByMomentum({ beta, name })`. */
export function scaleByMomentum(
  beta: Hyperparam,
  options?: { readonly name?: string },
): TransformOperator<ScaleByMomentumState>
export function scaleByMomentum(...args: unknown[]): TransformOperator<ScaleByMomentumState> {
  const fn = 'scaleByMomentum'
  const o = decodeOptions(ScaleByMomentumOptionsC, positionalOptions(fn, ['beta'], args), fn)
  return gradientTransform<ScaleByMomentumState>({
    name: o.name ?? fn,
    hyper: { beta: hyperparam(fn, 'beta', o.beta ?? 0.9, unitInterval) },
    init: (params) => ({ velocity: zerosLikeTree(params) }),
    update: elementwise({ trees: ['velocity'], rule: momentumRule }),
  })
}

/** v ← β·v + g; the update is v. */
function momentumRule(
  { beta }: { beta: number },
  g: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
) {
  return (next.velocity[i] = beta * old.velocity[i] + g)
}
