import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import { hyperparam, nonNegative, unitInterval } from '../../src/engine/hyperparams.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { ScaleByBeliefOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByBelief`: the first moment, the belief in it, the number of steps taken. */
export interface ScaleByBeliefState {
  readonly count: number
  readonly mu: Params
  readonly nu: Params
}

/** Options of `scaleByBelief` (and of `adabelief`): b1, b2 in [0, 1), eps, epsRoot ≥ 0, name. */
export type ScaleByBeliefOptions = t.TypeOf<typeof ScaleByBeliefOptionsC>

/**
 * AdaBelief's scaling (Zhuang et al. 2020), as optax's `scale_by_belief` computes it: Adam with
 * the second moment of the gradient's surprise g − μ instead of g. With t = count + 1:
 *
 *     μ ← β₁·μ + (1 − β₁)·g        s ← β₂·s + (1 − β₂)·(g − μ)² + ε_root   (the new μ)
 *     update = μ̂ / (√ŝ + ε),   μ̂ = μ / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ)
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { applyUpdates, gradient, maxSteps, scaleByBelief, scaleByLearningRate } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } })
 * // the first update: μ̂ = g, ŝ = (g − μ)² = (0.9·g)², so μ̂/√ŝ = 1/0.9 and w = 1 − 0.1/0.9
 * const step = pipe(gradient(f), scaleByBelief(), scaleByLearningRate(0.1), applyUpdates())
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.params.w.toFixed(4))) // → 0.8889
 * ```
 * @throws {RangeError} `scaleByBelief: b1: expected a number in [0, 1), got 1`
 * @see adabelief, scaleByAdam
 */
export function scaleByBelief(
  options: ScaleByBeliefOptions = {},
): TransformOperator<ScaleByBeliefState> {
  const fn = 'scaleByBelief'
  const o = decodeOptions(ScaleByBeliefOptionsC, options, fn)
  return gradientTransform<ScaleByBeliefState>({
    name: o.name ?? fn,
    hyper: {
      b1: hyperparam(fn, 'b1', o.b1 ?? 0.9, unitInterval),
      b2: hyperparam(fn, 'b2', o.b2 ?? 0.999, unitInterval),
      eps: hyperparam(fn, 'eps', o.eps ?? 1e-16, nonNegative),
      epsRoot: hyperparam(fn, 'epsRoot', o.epsRoot ?? 1e-16, nonNegative),
    },
    init: (params) => ({ count: 0, mu: zerosLikeTree(params), nu: zerosLikeTree(params) }),
    update: elementwise({
      trees: ['mu', 'nu'],
      prepare: ({ count }: ScaleByBeliefState, { b1, b2, eps, epsRoot }) => {
        const t = count + 1
        return [{ b1, b2, eps, epsRoot, c1: 1 - b1 ** t, c2: 1 - b2 ** t }, { count: t }]
      },
      rule: beliefRule,
    }),
  })
}

type Constants = Record<'b1' | 'b2' | 'eps' | 'epsRoot' | 'c1' | 'c2', number>

/** μ ← β₁μ + (1 − β₁)g, s ← β₂s + (1 − β₂)(g − μ)² + ε_root, u = μ/c₁ / (√(s/c₂) + ε). */
function beliefRule(k: Constants, g: number, i: number, old: LeafSlots, next: LeafSlots) {
  const { b1, b2, eps, epsRoot, c1, c2 } = k
  const mu = (next.mu[i] = b1 * old.mu[i] + (1 - b1) * g)
  const d = g - mu
  const s = (next.nu[i] = b2 * old.nu[i] + (1 - b2) * (d * d) + epsRoot)
  return mu / c1 / (Math.sqrt(s / c2) + eps)
}
