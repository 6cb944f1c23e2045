import { expectFunction, show } from '../src/errors.js'
import type { Evaluated, Perturbed, ProbeSet } from '../src/state/types.js'
import { treeSize, type Params } from '../src/tree/tree.js'
import { probeCount, Scratch } from './perturbations/perturbationInternals.js'
import { stage } from '../src/engine/fusion.js'
import { evaluatedState } from '../src/engine/state.js'

/** What `loss` adds to a perturbed state. */
export interface LossFields {
  /** f at the base point (also written to `loss`) */
  readonly baseLoss: number
  readonly loss: number
  /** f at every probe, in the design's order */
  readonly losses: Float64Array
  readonly evaluations: number
}

/**
 * The second stage: evaluates `objective(params, batch)` at the base point and at every probe
 * `perturb` described, on the step's mini-batch (`state.batch`, from `train({ data })`).
 * Every point is written into one private scratch copy of the parameters, in the book's
 * order (`x[i] = tmp + h`, f, `x[i] = tmp − h`, f, `x[i] = tmp`), so the objective never sees
 * the state's own tree nor a half-restored one. The objective must not keep its argument
 * (it is overwritten by the next probe). Adds `baseLoss` (= `loss`) and `losses`, and counts
 * the calls into `evaluations` (1 + the number of probes).
 *
 * Emits one state per state received; an error thrown by the objective errors the stream
 * (and `train` reports it with the step). A non-finite value is passed on (see
 * `stopOnNonFinite`).
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
 * const step = pipe(
 *   perturb<Tensor>(centralDifference()),
 *   // with data: loss((p, batch) => net.loss(p, batch.x, batch.t))
 *   loss((x) => x.data[0] ** 2 + x.data[1] ** 2),
 *   gradient(),
 *   update(0.1),
 * )
 * train({ params: tensor([3, 4]), step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.loss)) // → 25
 * // the loss at the parameters the step started from
 * ```
 * @param objective `(params, batch) => number`, pure
 * @throws {TypeError} `loss: objective: expected a function, got undefined`
 * @throws {TypeError} (in the stream) `loss: objective: expected a number, got "1"`
 * @see perturb, gradient
 */
export function loss<P extends Params, B = unknown>(objective: (params: P, batch: B) => number) {
  expectFunction('loss', 'objective', objective)
  // a stage (fused with its neighbours, see src/engine/fusion.ts); the factory runs once per
  // subscription: one scratch copy per subscription, reloaded with each step's parameters
  return stage<Perturbed<P>, Evaluated<P>>((_, emits) => {
    let scratch: Scratch<P> | undefined
    /**
     * the losses array, reused from step to step when the next stage of a fused chain is the
     * only reader (it is done with it before the next step); a fresh one when states leave
     */
    let reused = new Float64Array(0)
    let batch: B
    const f = (p: P): number => {
      const v = objective(p, batch)
      if (typeof v !== 'number') {
        throw new TypeError(`loss: objective: expected a number, got ${show(v)}`)
      }
      return v
    }
    return (s) => {
      const probes: ProbeSet = s.probes
      batch = s.batch as B
      if (scratch === undefined || !scratch.reload(s.params)) {
        scratch = new Scratch(s.params, treeSize(s.params))
      }
      const sc = scratch
      const base = f(sc.tree)
      const count = probeCount(probes)
      let losses = reused
      if (emits || losses.length !== count) {
        losses = new Float64Array(count)
        if (!emits) reused = losses
      }
      if (probes.kind === 'spsa' || probes.kind === 'gaussian') {
        const t = probes.scale
        let j = 0
        for (const u of probes.directions) {
          sc.move(u, t)
          losses[j++] = f(sc.tree)
          if (probes.antithetic) {
            sc.move(u, -t)
            losses[j++] = f(sc.tree)
          }
        }
        sc.move(null, 0)
      } else {
        const axis = probes as Extract<ProbeSet, { readonly h: number }>
        sc.axes(axis.kind, axis.h, f, losses)
      }
      return evaluatedState(s, base, losses)
    }
  })
}
