import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, unitInterval } from '../../src/engine/hyperparams.js'
import { applyLeafwise, leafwise } from '../../src/engine/leaves.js'
import {
  asOperator,
  slotName,
  type TransformOperator,
  checkOptions,
} from '../../src/engine/transform.js'

/** The slot of `scaleByMomentum`: the velocity, shaped like the parameters. */
export interface ScaleByMomentumState {
  readonly velocity: Params
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
  beta: Hyperparam = 0.9,
  options: { readonly name?: string } = {},
): TransformOperator<ScaleByMomentumState> {
  const fn = 'scaleByMomentum'
  checkOptions(fn, options, ['name'])
  return asOperator<ScaleByMomentumState>({
    name: slotName(fn, options.name),
    hyper: { beta: hyperparam(fn, 'beta', beta, unitInterval) },
    init: (params) => ({ velocity: zerosLikeTree(params) }),
    update: (u, { velocity }, { hyper: { beta } }) => {
      const [v] = leafwise(fn, [velocity, u], 1, ([v0, g], [v]) => momentumLeaf(v0, g, v, beta))
      return [v, { velocity: v }]
    },
    // the optimizers' fused ending (momentum: −η·g, v and θ in one pass)
    prescales: true,
    applyTo: (params, u, { velocity }, { hyper: { beta } }, a, c = 1) => {
      const [theta, [v]] = applyLeafwise(fn, [velocity, u], 1, params, u, ([v0, g], p, [v], q) =>
        c === 1
          ? momentumApplyLeaf(v0, g, p, v, q, beta, a)
          : momentumScaledApplyLeaf(v0, g, p, v, q, beta, a, c),
      )
      return [theta, { velocity: v }]
    },
  })
}

/** v = β·v₀ + g on one leaf. */
export function momentumLeaf(
  v0: Float64Array,
  g: Float64Array,
  v: Float64Array,
  beta: number,
): void {
  for (let i = 0; i < v.length; i++) v[i] = beta * v0[i] + g[i]
}

/** `momentumLeaf` and then q = p + a·v, in one pass. */
function momentumApplyLeaf(
  v0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  v: Float64Array,
  q: Float64Array,
  beta: number,
  a: number,
): void {
  for (let i = 0; i < v.length; i++) {
    const vi = beta * v0[i] + g[i]
    v[i] = vi
    q[i] = p[i] + a * vi
  }
}

/**
 * `momentumApplyLeaf` on updates c·g: v = β·v₀ + c·g, q = p + a·v (c = −η: the value
 * scaleByLearningRate would have stored, computed in place).
 */
function momentumScaledApplyLeaf(
  v0: Float64Array,
  g: Float64Array,
  p: Float64Array,
  v: Float64Array,
  q: Float64Array,
  beta: number,
  a: number,
  c: number,
): void {
  for (let i = 0; i < v.length; i++) {
    const vi = beta * v0[i] + c * g[i]
    v[i] = vi
    q[i] = p[i] + a * vi
  }
}
