import type { OperatorFunction } from 'rxjs'
import { show } from '../src/errors.js'
import type { Perturbed, TrainState } from '../src/state/types.js'
import { treeSize, type Params } from '../src/tree/tree.js'
import type { PerturbationDesign } from './perturbations/perturbationDesign.js'
import { stage } from '../src/engine/fusion.js'
import { perturbedState } from '../src/engine/state.js'

/**
 * The first stage of a step: decides where the objective is probed around the parameters and
 * adds that description as `probes` (kind, step size, and for random designs the drawn
 * directions). A probe is a description, not a copy of the parameters: `loss` writes each
 * point into one private scratch copy. Random designs advance `state.rng` (or their own
 * generator in `state.opt`), so the same seed gives the same probes.
 *
 * Emits one state per state received; completes and errors with its source. Next to other
 * stages it runs fused with them (one function per step, no operator hop between stages); any
 * operator may still go between stages.
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
 * const f = (x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2
 * // inside train({ step }) the parameter type is inferred from `params`
 * train({
 *   params: tensor([3, 4]),
 *   step: pipe(perturb(centralDifference()), loss(f), gradient(), update(0.1)),
 * })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.evaluations)) // → 5
 * // the loss at θ and at θ ± h·eᵢ for each parameter
 * // a pipe built on its own line needs the parameter type once, at its start:
 * const step = pipe(perturb<Tensor>(centralDifference()), loss(f), gradient(), update(0.1))
 * ```
 * @typeParam P the parameter tree type; inferred inside `train({ step })`, give it explicitly
 *   (`perturb<Tensor>(…)`) for a pipe built on its own
 * @param design `centralDifference`, `forwardDifference`, `spsa` or `gaussian`
 * @throws {TypeError} `perturb: design: expected a perturbation design such as centralDifference(), got undefined`
 * @see loss, gradient
 */
export function perturb<P extends Params = Params>(
  design: PerturbationDesign,
): OperatorFunction<TrainState<P>, Perturbed<P>> {
  if (typeof design !== 'object' || design === null || typeof design.probe !== 'function') {
    throw new TypeError(
      `perturb: design: expected a perturbation design such as centralDifference(), got ${show(design)}`,
    )
  }
  // a stage: fused with the stages around it into one hop (see src/engine/fusion.ts)
  return stage<TrainState<P>, Perturbed<P>>(() => (s) => {
    const r = design.probe(s, treeSize(s.params))
    return perturbedState(s, r.probes, r.rng ?? s.rng, r.opt ?? s.opt)
  })
}
