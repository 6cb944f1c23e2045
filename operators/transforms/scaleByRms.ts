import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import {
  type Hyperparam,
  hyperparam,
  nonNegative,
  unitInterval,
} from '../../src/engine/hyperparams.js'
import { positionalOptions, type TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { ScaleByRmsOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByRms`: the decaying average of squared updates. */
export interface ScaleByRmsState {
  readonly nu: Params
}

/** Options of `scaleByRms`: decay ρ in [0, 1) (0.99), ε ≥ 0 (1e-8), epsInSqrt (false), name. */
export type ScaleByRmsOptions = t.TypeOf<typeof ScaleByRmsOptionsC>

/**
 * RMSprop's scaling (Tieleman & Hinton 2012): ν ← ρ·ν + (1 − ρ)·u²; the update is
 * u / (√ν + ε) as torch.optim.RMSprop and the book's `RMSprop` compute it, or u / √(ν + ε)
 * with `epsInSqrt` (optax's `scale_by_rms` default). No bias correction; ν starts at 0.
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
 *   scaleByRms,
 * } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // first step: ν = 0.01·2², update 2/√ν (up to rounding)
 * const step = pipe(
 *   gradient(f),
 *   scaleByRms(0.99, 0),
 *   tap((s) => console.log(s.updates.w)), // → 9.999999999999995
 *   scaleByLearningRate(0.1),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param options.decay ρ in [0, 1), default 0.99 (torch's α and the book's decay_rate)
 * @param options.eps ε ≥ 0, default 1e-8 (torch's; the book uses 1e-7)
 * @param options.epsInSqrt put ε under the root (optax), default false
 * @param options.name slot name (default `scaleByRms`)
 * @throws {RangeError} `scaleByRms: decay: expected a number in [0, 1), got 1`
 * @see rmsprop, scaleByAdam
 */
export function scaleByRms(options?: ScaleByRmsOptions): TransformOperator<ScaleByRmsState>
/** @deprecated decay and ε positional, kept for one release: write `scaleByRms({ decay, eps })`. */
export function scaleByRms(
  decay: Hyperparam,
  eps?: Hyperparam,
  options?: { readonly epsInSqrt?: boolean; readonly name?: string },
): TransformOperator<ScaleByRmsState>
export function scaleByRms(...args: unknown[]): TransformOperator<ScaleByRmsState> {
  const fn = 'scaleByRms'
  const o = decodeOptions(ScaleByRmsOptionsC, positionalOptions(fn, ['decay', 'eps'], args), fn)
  const inSqrt = o.epsInSqrt === true
  return gradientTransform<ScaleByRmsState>({
    name: o.name ?? fn,
    hyper: {
      decay: hyperparam(fn, 'decay', o.decay ?? 0.99, unitInterval),
      eps: hyperparam(fn, 'eps', o.eps ?? 1e-8, nonNegative),
    },
    init: (params) => ({ nu: zerosLikeTree(params) }),
    update: elementwise({
      trees: ['nu'],
      // ε beside the root or inside it: one rule, the other place given 0 (x + 0 is exact)
      prepare: (_, { decay, eps }) => [{ decay, inner: inSqrt ? eps : 0, outer: inSqrt ? 0 : eps }],
      rule: rmsRule,
    }),
  })
}

/** ν ← ρ·ν + (1 − ρ)·g², u = g / (√(ν + inner) + outer). */
function rmsRule(
  { decay, inner, outer }: { decay: number; inner: number; outer: number },
  g: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
) {
  const nu = (next.nu[i] = decay * old.nu[i] + (1 - decay) * g * g)
  return g / (Math.sqrt(nu + inner) + outer)
}
