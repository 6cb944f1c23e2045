import { expectInteger } from '../../src/errors.js'
import { handOverSum } from '../../src/engine/leaves.js'
import { lazyZeros, meanHome, runningMean } from '../../src/engine/runningMean.js'
import { type Params, zerosLikeTree } from '../../src/tree/tree.js'
import { gradientTransform } from '../transforms/gradientTransform.js'
import type { Optimizer } from './optimizer.js'
import { appliedUpdate, asOptimizer, innerContext, innerHyper, pairOf } from './wrapperInternals.js'
import type * as t from 'io-ts'
import { NameOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

/**
 * The slot of `multiSteps` (`state.opt.multiSteps`): the running mean of this cycle's gradients,
 * how many it holds (the mini-step, 0 … k − 1) and the wrapped optimizer's slot.
 */
export type MultiStepsState = {
  readonly mean: Params
  readonly count: number
  readonly inner: unknown
}

/**
 * Gradient accumulation, as optax's `MultiSteps`: the gradients of k consecutive steps are
 * averaged, and on every k-th step the wrapped optimizer runs once on their mean; on the
 * other steps the parameters and the optimizer's slots stay as they are (the updates are −0,
 * which leaves every parameter's bits alone). The mean is the running one optax keeps,
 * m ← m + (g − m)/(n + 1) (m = g at n = 0), and the slot holds it with n, so a checkpoint
 * taken at any mini-step resumes bit for bit. The wrapped optimizer's schedules run on its
 * own step count (⌊step / k⌋); its hyperparameters are recorded as `multiSteps.inner.…`. An
 * optimizer: it ends the step (k steps of batch b ≈ one step of batch k·b). It runs the wrapped
 * optimizer as the engine runs it alone (one pass with θ + u, its slots left in that pass's
 * memory), and sums the mean in place: a step costs about what the optimizer's own step costs.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { gradient, maxSteps, multiSteps, sgd } from 'gradstream/operators'
 *
 * // f = w² (∇f = 2w): w moves on steps 2 and 4, with the mean of two gradients (here equal)
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } })
 * train({ params: { w: 1 }, step: pipe(gradient(f), multiSteps(2, sgd(0.25))) })
 *   .pipe(maxSteps(4))
 *   .subscribe((s) => console.log(s.step, s.params.w))
 * // → 0 1, 1 1, 2 0.5, 3 0.5, 4 0.25
 * ```
 * @param k steps per update, a positive integer (1: the optimizer itself, bit for bit)
 * @param optimizer the optimizer that runs on the mean (any: `adam(1e-3)`, a chain, …)
 * @param options.name slot name (default `multiSteps`)
 * @throws {RangeError} `multiSteps: k: expected a positive integer, got 0`
 * @see lookahead
 */
export function multiSteps(
  k: number,
  optimizer: unknown,
  options: t.TypeOf<typeof NameOptionsC> = {},
): Optimizer {
  const fn = 'multiSteps'
  expectInteger(fn, 'k', k, 1)
  const o = decodeOptions(NameOptionsC, options, fn)
  const t = pairOf(fn, 'optimizer', optimizer)
  const own = (step: number) => Math.floor(step / k) // the wrapped optimizer's step count
  const update = appliedUpdate(fn, t) // through the engine's pass, θ + u made there
  const home = meanHome() // where the means' long leaves are summed
  let nothing: { params: Params; u: Params } | null = null // the updates −0, made once per θ
  return asOptimizer(
    gradientTransform<MultiStepsState>({
      name: o.name ?? fn,
      hyper: innerHyper(t, own),
      init: (params) => ({ mean: zerosLikeTree(params), count: 0, inner: t.init(params) }),
      update: (g, s, ctx) => {
        const n = s.count
        // (long leaves summed in place, the state's mean lazy: src/engine/runningMean.ts)
        const mean = k === 1 ? g : runningMean(fn, home, s.mean, g, n)
        if (n + 1 < k) {
          const params = ctx.params
          if (nothing?.params !== params) nothing = { params, u: lazyZeros(fn, g, -0) }
          handOverSum(params, nothing.u, params) // θ + (−0) = θ, bit for bit: applyUpdates keeps θ
          return [nothing.u, { mean, count: n + 1, inner: s.inner }]
        }
        const [u, inner] = update(mean, s.inner, innerContext(ctx, own(ctx.step)))
        return [u, { mean: lazyZeros(fn, g), count: 0, inner }]
      },
    }),
  )
}
