import type * as t from 'io-ts'
import { ScaleByAdamOptionsC } from '../../src/state/configCodecs.js'
import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import { hyperparam, nonNegative, unitInterval } from '../../src/engine/hyperparams.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByAdam`: first and second moments and the number of steps taken. */
export interface ScaleByAdamState {
  readonly count: number
  readonly mu: Params
  readonly nu: Params
}

/** Options of `scaleByAdam` (and of `adam`, `adamw`): b1, b2 in [0, 1), eps ≥ 0, efficient, name. */
export type ScaleByAdamOptions = t.TypeOf<typeof ScaleByAdamOptionsC>

/**
 * Adam's scaling (Kingma & Ba 2015), as torch.optim.Adam and optax's `scale_by_adam` compute
 * it. With t = count + 1:
 *
 *     μ ← β₁·μ + (1 − β₁)·u        ν ← β₂·ν + (1 − β₂)·u²
 *     update = μ̂ / (√ν̂ + ε),   μ̂ = μ / (1 − β₁ᵗ),  ν̂ = ν / (1 − β₂ᵗ)
 *
 * With `efficient: true` (the book's form): update = √(1 − β₂ᵗ)/(1 − β₁ᵗ) · μ / (√ν + ε), the
 * same rule with f = √(1 − β₂ᵗ)/(1 − β₁ᵗ) and the corrections c₁ = c₂ = 1 (x·1 and x/1 are exact).
 * The first update is ±1·|u|/(|u| + ε) per coordinate: magnitude η after the learning rate.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import { applyUpdates, gradient, maxSteps, scaleByAdam, scaleByLearningRate } from 'gradstream/operators'
 *
 * const f = ({ W }: { W: Tensor }) => ({ loss: 0, grad: { W } })
 * // the first step moves every coordinate by η = 0.1, whatever the gradient's size
 * const step = pipe(gradient(f), scaleByAdam({ eps: 0 }), scaleByLearningRate(0.1), applyUpdates())
 * train({ params: { W: tensor([3, -0.002]) }, step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(Array.from(s.params.W.data))) // → [ 2.9, 0.098 ]
 * ```
 * @throws {RangeError} `scaleByAdam: b1: expected a number in [0, 1), got 1`
 * @see adam, adamw, scaleByRms
 */
export function scaleByAdam(options: ScaleByAdamOptions = {}): TransformOperator<ScaleByAdamState> {
  const fn = 'scaleByAdam'
  const o = decodeOptions(ScaleByAdamOptionsC, options, fn)
  const efficient = o.efficient === true
  return gradientTransform<ScaleByAdamState>({
    name: o.name ?? fn,
    hyper: {
      b1: hyperparam(fn, 'b1', o.b1 ?? 0.9, unitInterval),
      b2: hyperparam(fn, 'b2', o.b2 ?? 0.999, unitInterval),
      eps: hyperparam(fn, 'eps', o.eps ?? 1e-8, nonNegative),
    },
    init: (params) => ({ count: 0, mu: zerosLikeTree(params), nu: zerosLikeTree(params) }),
    update: elementwise({
      trees: ['mu', 'nu'],
      prepare: ({ count }: ScaleByAdamState, { b1, b2, eps }) => {
        const t = count + 1
        const [c1, c2] = [1 - b1 ** t, 1 - b2 ** t]
        const k = efficient ? { f: Math.sqrt(c2) / c1, c1: 1, c2: 1 } : { f: 1, c1, c2 }
        return [{ b1, b2, eps, ...k }, { count: t }]
      },
      rule: adamRule,
    }),
  })
}

type Constants = Record<'b1' | 'b2' | 'eps' | 'f' | 'c1' | 'c2', number>

/** μ ← β₁μ + (1 − β₁)g, ν ← β₂ν + (1 − β₂)g², u = f·μ / c₁ / (√(ν / c₂) + ε) (one element). */
function adamRule(k: Constants, g: number, i: number, old: LeafSlots, next: LeafSlots) {
  const { b1, b2, eps, f, c1, c2 } = k
  const mu = (next.mu[i] = b1 * old.mu[i] + (1 - b1) * g)
  const nu = (next.nu[i] = b2 * old.nu[i] + (1 - b2) * g * g)
  return (f * mu) / c1 / (Math.sqrt(nu / c2) + eps)
}
