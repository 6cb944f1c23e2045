import { map, type Observable } from 'rxjs'
import { show } from '../src/errors.js'
import type { ProbeSet, TrainState } from '../src/state/types.js'
import { treeSize } from '../src/tree/tree.js'
import type { PerturbationDesign } from './perturbations/perturbationInternals.js'

/**
 * The first stage of a step: decides where the objective is probed around the parameters and
 * adds that description as `probes` (kind, step size, and for random designs the drawn
 * directions). A probe is a description, not a copy of the parameters: `loss` writes each
 * point into one private scratch copy. Random designs advance `state.rng` (or their own
 * generator in `state.opt`), so the same seed gives the same probes.
 *
 * Emits one state per state received; completes and errors with its source.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { centralDifference, gradient, loss, perturb, update } from 'gradstream/operators'
 *
 * const step = pipe(perturb(centralDifference({ h: 1e-4 })), loss(f), gradient(), update(0.1))
 * ```
 * @param design `centralDifference`, `forwardDifference`, `spsa` or `gaussian`
 * @throws {TypeError} `perturb: design: expected a perturbation design such as centralDifference(), got undefined`
 * @see loss, gradient
 */
export function perturb(design: PerturbationDesign) {
  if (typeof design !== 'object' || design === null || typeof design.probe !== 'function') {
    throw new TypeError(
      `perturb: design: expected a perturbation design such as centralDifference(), got ${show(design)}`,
    )
  }
  return <S extends TrainState>(
    source: Observable<S>,
  ): Observable<S & { readonly probes: ProbeSet }> =>
    source.pipe(
      map((s) => {
        const r = design.probe(s, treeSize(s.params))
        const next = { ...s, probes: r.probes } as S & { probes: ProbeSet }
        if (r.rng !== undefined) (next as { rng: unknown }).rng = r.rng
        if (r.opt !== undefined) (next as { opt: unknown }).opt = r.opt
        return Object.freeze(next)
      }),
    )
}
