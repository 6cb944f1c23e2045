import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import { hyperparam, unitInterval } from '../../src/engine/hyperparams.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { ScaleByLionOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByLion`: the momentum, shaped like the parameters. */
export interface ScaleByLionState {
  readonly mu: Params
}

/**
 * Lion's scaling (Chen et al. 2023, "Symbolic discovery of optimization algorithms"), as
 * optax's `scale_by_lion`: the update is sign(β₁·μ + (1 − β₁)·u), then μ ← β₂·μ + (1 − β₂)·u.
 * Every coordinate moves by exactly 1 (0 where the interpolation is 0).
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
 *   scaleByLion,
 * } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // sign(0.9·0 + 0.1·2w) at w = −0.15
 * const step = pipe(
 *   gradient(f),
 *   scaleByLion(),
 *   tap((s) => console.log(s.updates.w)), // → -1
 *   scaleByLearningRate(0.1),
 *   applyUpdates(),
 * )
 * train({ params: { w: -0.15 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param options.b1 β₁ in [0, 1), default 0.9
 * @param options.b2 β₂ in [0, 1), default 0.99
 * @param options.name slot name (default `scaleByLion`)
 * @throws {RangeError} `scaleByLion: b2: expected a number in [0, 1), got 2`
 * @see lion
 */
export function scaleByLion(
  options: t.TypeOf<typeof ScaleByLionOptionsC> = {},
): TransformOperator<ScaleByLionState> {
  const fn = 'scaleByLion'
  const o = decodeOptions(ScaleByLionOptionsC, options, fn)
  return gradientTransform<ScaleByLionState>({
    name: o.name ?? fn,
    hyper: {
      b1: hyperparam(fn, 'b1', o.b1 ?? 0.9, unitInterval),
      b2: hyperparam(fn, 'b2', o.b2 ?? 0.99, unitInterval),
    },
    init: (params) => ({ mu: zerosLikeTree(params) }),
    update: elementwise({ trees: ['mu'], rule: lionRule }),
  })
}

/** u = sign(β₁μ + (1 − β₁)g), μ ← β₂μ + (1 − β₂)g. */
function lionRule(
  { b1, b2 }: { b1: number; b2: number },
  g: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
) {
  const m = old.mu[i]
  next.mu[i] = b2 * m + (1 - b2) * g
  return Math.sign(b1 * m + (1 - b1) * g)
}
