import { mapTree, type Params } from '../../src/tree/tree.js'
import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import { type Hyperparam, hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import { positionalOptions, type TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { ScaleByAdagradOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByAdagrad`: the running sum of squared updates. */
export interface ScaleByAdagradState {
  readonly sumOfSquares: Params
}

/** Options of `scaleByAdagrad`: ε ≥ 0 (1e-10), initialAccumulator h₀ ≥ 0 (0), name. */
export type ScaleByAdagradOptions = t.TypeOf<typeof ScaleByAdagradOptionsC>

/**
 * AdaGrad (Duchi et al. 2011) as torch.optim.Adagrad and the book's `AdaGrad` compute it:
 * h ← h + u²; the update is u / (√h + ε), ε outside the root. (optax's `scale_by_rss` puts ε
 * inside, 1/√(h + ε), and starts h at 0.1.)
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   scaleByAdagrad,
 *   scaleByLearningRate,
 * } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // first step: h = 2², update 2/√4
 * const step = pipe(
 *   gradient(f),
 *   scaleByAdagrad(0),
 *   tap((s) => console.log(s.updates.w)), // → 1
 *   scaleByLearningRate(0.1),
 *   applyUpdates(),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param options.eps ε ≥ 0, default 1e-10 (torch's; the book uses 1e-7)
 * @param options.initialAccumulator h₀ ≥ 0, default 0
 * @param options.name slot name (default `scaleByAdagrad`)
 * @throws {RangeError} `scaleByAdagrad: eps: expected a non-negative finite number, got -1`
 * @see adagrad, scaleByRms
 */
export function scaleByAdagrad(
  options?: ScaleByAdagradOptions,
): TransformOperator<ScaleByAdagradState>
/** @deprecated ε positional, kept for one release: write `scaleByAdagrad({ eps, … })`. */
export function scaleByAdagrad(
  eps: Hyperparam,
  options?: { readonly initialAccumulator?: number; readonly name?: string },
): TransformOperator<ScaleByAdagradState>
export function scaleByAdagrad(...args: unknown[]): TransformOperator<ScaleByAdagradState> {
  const fn = 'scaleByAdagrad'
  const o = decodeOptions(ScaleByAdagradOptionsC, positionalOptions(fn, ['eps'], args), fn)
  const h0 = o.initialAccumulator ?? 0
  return gradientTransform<ScaleByAdagradState>({
    name: o.name ?? fn,
    hyper: { eps: hyperparam(fn, 'eps', o.eps ?? 1e-10, nonNegative) },
    init: (params) => ({ sumOfSquares: mapTree(params, () => h0) }),
    update: elementwise({ trees: ['sumOfSquares'], rule: adagradRule }),
  })
}

/** h ← h + g², u = g / (√h + ε). */
function adagradRule(
  { eps }: { eps: number },
  g: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
) {
  const h = (next.sumOfSquares[i] = old.sumOfSquares[i] + g * g)
  return g / (Math.sqrt(h) + eps)
}
