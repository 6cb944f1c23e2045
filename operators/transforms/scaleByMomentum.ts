import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { elementwise, type LeafArrays } from '../../src/engine/elementwise.js'
import { type Hyperparam, hyperparam, unitInterval } from '../../src/engine/hyperparams.js'
import {
  checkOptions,
  positionalOptions,
  slotName,
  type TransformOperator,
} from '../../src/engine/transform.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByMomentum`: the velocity, shaped like the parameters. */
export interface ScaleByMomentumState {
  readonly velocity: Params
}

/** Options of `scaleByMomentum` and `scaleByNesterov`. */
export interface ScaleByMomentumOptions {
  /** β in [0, 1), default 0.9 */
  readonly beta?: Hyperparam
  /** slot name, default the transform's */
  readonly name?: string
}

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
 * const step = pipe(gradient(f), scaleByLearningRate(0.1), scaleByMomentum(0.9), applyUpdates())
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.params.w, s.opt.scaleByMomentum))
 * // → 0.45999999999999996 { velocity: { w: -0.3400000000000001 } }
 * ```
 * @param beta β in [0, 1), default 0.9 (a number, schedule or Observable)
 * @param options.name slot name (default `scaleByMomentum`)
 * @throws {RangeError} `scaleByMomentum: beta: expected a number in [0, 1), got 1`
 * @see scaleByNesterov, momentum
 */
export function scaleByMomentum(
  options?: ScaleByMomentumOptions | Hyperparam,
  legacy?: { readonly name?: string },
): TransformOperator<ScaleByMomentumState> {
  const fn = 'scaleByMomentum'
  const o = positionalOptions(['beta'], [options, legacy]) as ScaleByMomentumOptions | undefined
  checkOptions(fn, o, ['beta', 'name'])
  return gradientTransform<ScaleByMomentumState>({
    name: slotName(fn, o?.name),
    hyper: { beta: hyperparam(fn, 'beta', o?.beta ?? 0.9, unitInterval) },
    init: (params) => ({ velocity: zerosLikeTree(params) }),
    update: elementwise({ trees: ['velocity'], rule: momentumRule }),
  })
}

/** v ← β·v + g; the update is v. */
function momentumRule({ beta }: { beta: number }, x: LeafArrays, from: number, to: number) {
  const {
    g,
    u,
    slots: [v0],
    next: [v],
  } = x
  for (let i = from; i < to; i++) {
    const vi = beta * v0[i] + g[i]
    v[i] = vi
    u[i] = vi
  }
}
