import { mapTree, type Params } from '../../src/tree/tree.js'
import { expectNonNegative } from '../../src/errors.js'
import { elementwise, type LeafArrays } from '../../src/engine/elementwise.js'
import { type Hyperparam, hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import {
  checkOptions,
  positionalOptions,
  slotName,
  type TransformOperator,
} from '../../src/engine/transform.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `scaleByAdagrad`: the running sum of squared updates. */
export interface ScaleByAdagradState {
  readonly sumOfSquares: Params
}

/** Options of `scaleByAdagrad`. */
export interface ScaleByAdagradOptions {
  /** ε ≥ 0, default 1e-10 */
  readonly eps?: Hyperparam
  /** the sum's starting value ≥ 0, default 0 */
  readonly initialAccumulator?: number
  /** slot name, default `scaleByAdagrad` */
  readonly name?: string
}

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
 * @param eps ε ≥ 0, default 1e-10 (torch's; the book uses 1e-7)
 * @param options.initialAccumulator h₀ ≥ 0, default 0
 * @param options.name slot name (default `scaleByAdagrad`)
 * @throws {RangeError} `scaleByAdagrad: eps: expected a non-negative finite number, got -1`
 * @see adagrad, scaleByRms
 */
export function scaleByAdagrad(
  options?: ScaleByAdagradOptions | Hyperparam,
  legacy?: { readonly initialAccumulator?: number; readonly name?: string },
): TransformOperator<ScaleByAdagradState> {
  const fn = 'scaleByAdagrad'
  const o = positionalOptions(['eps'], [options, legacy]) as ScaleByAdagradOptions | undefined
  checkOptions(fn, o, ['eps', 'initialAccumulator', 'name'])
  const h0 = o?.initialAccumulator ?? 0
  expectNonNegative(fn, 'initialAccumulator', h0)
  return gradientTransform<ScaleByAdagradState>({
    name: slotName(fn, o?.name),
    hyper: { eps: hyperparam(fn, 'eps', o?.eps ?? 1e-10, nonNegative) },
    init: (params) => ({ sumOfSquares: mapTree(params, () => h0) }),
    update: elementwise({ trees: ['sumOfSquares'], rule: adagradRule }),
  })
}

/** h ← h + g², u = g / (√h + ε). */
function adagradRule({ eps }: { eps: number }, x: LeafArrays, from: number, to: number) {
  const {
    g,
    u,
    slots: [h0],
    next: [h],
  } = x
  for (let i = from; i < to; i++) {
    const gi = g[i]
    const hi = h0[i] + gi * gi
    h[i] = hi
    u[i] = gi / (Math.sqrt(hi) + eps)
  }
}
