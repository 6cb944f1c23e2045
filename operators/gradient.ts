import type { Observable } from 'rxjs'
import { expectFunction, show } from '../src/errors.js'
import { freezeTree } from '../src/state/freeze.js'
import type { Evaluated, ProbeSet, TrainState, WithGradient } from '../src/state/types.js'
import { treeSize, type Params } from '../src/tree/tree.js'
import { estimate } from './perturbations/perturbationInternals.js'
import { stage } from '../src/engine/fusion.js'
import { withGradientState } from '../src/engine/state.js'
import { copyLike, treeFromFlat } from '../src/engine/leaves.js'

/**
 * An analytic gradient: the loss and its gradient at `params` on `batch`. Any of three shapes
 * is accepted: `{ loss, grad }`, `{ value, grad }` (what a `valueAndGrad(f)` from
 * gradstream's reverse-mode autodiff returns) or the tuple `[loss, grad]` (JAX's
 * `value_and_grad`). `grad` must have the structure of `params`.
 */
export type AnalyticGradient<P extends Params, B = unknown> = (
  params: P,
  batch: B,
) =>
  | { readonly loss: number; readonly grad: P }
  | { readonly value: number; readonly grad: P }
  | readonly [number, P]

/**
 * The third stage. Without an argument: turns the losses `loss` measured at the probes into
 * the gradient estimate that matches the design (central / forward differences, SPSA,
 * Gaussian smoothing; see each design for its formula). With `fn`: calls the analytic
 * gradient `fn(params, batch)` instead, and `perturb`/`loss` are left out of the pipe (one
 * evaluation counted per step).
 *
 * Emits a `WithGradient` state: `grad` (the parameters' structure), `updates` (initially the
 * gradient itself: the optimizer transforms rewrite it, `applyUpdates` adds it to the
 * parameters), `baseLoss` = `loss`. Probe fields are dropped. Completes and errors with its
 * source; an error thrown by `fn` errors the stream.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import {
 *   centralDifference,
 *   gradient,
 *   loss,
 *   maxSteps,
 *   perturb,
 *   update,
 * } from 'gradstream/operators'
 *
 * // estimated: perturb the parameters, evaluate the loss at each probe, combine
 * const estimated = pipe(
 *   perturb<Tensor>(centralDifference()),
 *   loss((x) => x.data[0] ** 2),
 *   gradient(),
 *   update(0.1),
 * )
 * // analytic: a function returning the loss and its gradient
 * const analytic = pipe(
 *   gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })),
 *   update(0.1),
 * )
 *
 * train({ params: tensor([1]), step: estimated })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.params.data[0].toFixed(12), s.evaluations))
 * // → 0.800000000000 3
 * train({ params: [1], step: analytic })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.params, s.evaluations)) // → [ 0.8 ] 1
 * ```
 * @param fn optional analytic gradient (see `AnalyticGradient` for the accepted shapes)
 * @throws {TypeError} `gradient: fn: expected a function, got 1`
 * @throws {ShapeError} (in the stream) `gradient: at W: shapes [2,3] and [3,2] differ`
 * @see perturb, loss, update
 */
export function gradient(): <P extends Params>(
  source: Observable<Evaluated<P>>,
) => Observable<WithGradient<P>>
export function gradient<P extends Params, B = unknown>(
  fn: AnalyticGradient<P, B>,
): (source: Observable<TrainState<P>>) => Observable<WithGradient<P>>
export function gradient<P extends Params, B>(fn?: AnalyticGradient<P, B>) {
  // stages: fused with their neighbours into one hop (see src/engine/fusion.ts)
  if (fn === undefined) {
    return stage<Evaluated<P>, WithGradient<P>>(() => (s) => {
      const flat = estimate(s.probes, s.baseLoss, s.losses, sizeOf(s.probes, s.params))
      const grad = treeFromFlat(s.params, flat) // built frozen: no freezeTree walk
      return withGradientState(s, grad, s.baseLoss, s.evaluations)
    })
  }
  expectFunction('gradient', 'fn', fn)
  return stage<TrainState<P>, WithGradient<P>>(() => (s) => {
    const r = fn(s.params, s.batch as B)
    let value: unknown
    let g: unknown
    if (Array.isArray(r)) [value, g] = r
    else if (typeof r === 'object' && r !== null) {
      value = 'loss' in r ? r.loss : (r as { value?: unknown }).value
      g = (r as { grad?: unknown }).grad
    }
    if (typeof value !== 'number' || g === undefined) {
      throw new TypeError(
        `gradient: fn: expected { loss, grad }, { value, grad } or [loss, grad], got ${show(r)}`,
      )
    }
    const grad = freezeTree(copyLike(s.params, g as Params, 'gradient'))
    return withGradientState(s, grad, value, s.evaluations + 1)
  })
}

/** The number of coordinates: the probe description knows it (no walk over the tree). */
function sizeOf(p: ProbeSet, params: Params): number {
  if (p.kind === 'spsa' || p.kind === 'gaussian') {
    return p.directions.length > 0 ? p.directions[0].length : treeSize(params)
  }
  return (p as { n: number }).n
}
