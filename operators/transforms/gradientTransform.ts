import type { Params } from '../../src/tree/tree.js'
import { bindPlan } from '../../src/engine/elementwise.js'
import {
  finite,
  type Hyperparam,
  hyperparam,
  type HyperSpec,
  isHyperSpec,
} from '../../src/engine/hyperparams.js'
import { transformStage } from '../../src/engine/stages.js'
import type { TransformContext, TransformOperator } from '../../src/engine/transform.js'
import { GradientTransformDefinitionC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

/** What `gradientTransform` takes: your transform as plain functions. */
export interface GradientTransformDefinition<S> {
  /** slot name: `state.opt[name]`, and the prefix of its `state.hyper` entries */
  readonly name: string
  /**
   * hyperparameters by field: numbers, schedules or Observables (finite values), or specs
   * from `hyperparam` (with their own rule); one named `lr` is recorded as `state.lr` too
   */
  readonly hyper?: { readonly [field: string]: Hyperparam | HyperSpec }
  /** the slot from the parameters' structure (default: no slot) */
  readonly init?: (params: Params) => S
  /**
   * this step's updates and slot → new updates and slot; pure. Made with `elementwise` (a
   * per-element rule) or `scaling`, it runs in the optimizer's single pass over the parameters.
   */
  readonly update: (updates: Params, slot: S, ctx: TransformContext) => readonly [Params, S]
}

/**
 * Makes a step-pipeline stage from your own transform, with everything the built-in ones have:
 * its slot in `state.opt[name]` (initialised on first use, kept as plain data so checkpoints
 * hold it), hyperparameters resolved at each step (number, schedule or Observable) and recorded
 * in `state.hyper['name.field']`, duplicate names rejected. The result can be wrapped by
 * `masked`, `perParameter`, `chain` or `lookahead`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { mapTree, train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   gradientTransform,
 *   maxSteps,
 *   scaleByLearningRate,
 * } from 'gradstream/operators'
 *
 * // signSGD with a step counter in its slot: u ← sign(u)·c, c a hyperparameter
 * const signum = gradientTransform({
 *   name: 'signum',
 *   hyper: { c: (k: number) => 1 / (k + 1) },
 *   init: () => ({ count: 0 }),
 *   update: (u, slot: { count: number }, { hyper }) => [
 *     mapTree(u, (v) => Math.sign(v) * hyper.c),
 *     { count: slot.count + 1 },
 *   ],
 * })
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } })
 * const step = pipe(gradient(f), signum, scaleByLearningRate(0.5), applyUpdates())
 * train({ params: { w: 3 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.params.w, s.opt.signum, s.hyper))
 * // → 2.25 { count: 2 } { 'signum.c': 0.5, 'scaleByLearningRate.lr': 0.5 }
 * ```
 * @throws {TypeError} `gradientTransform: update: expected a function, got undefined`
 * @see chain, masked
 */
export function gradientTransform<S = undefined>(
  definition: GradientTransformDefinition<S>,
): TransformOperator<S> {
  const fn = 'gradientTransform'
  // the codec checks the keys and their kinds; the definition's own functions keep their types
  decodeOptions(GradientTransformDefinitionC, definition, fn, 'definition')
  const { name, hyper = {}, init = () => undefined as S, update } = definition
  const specs: Record<string, HyperSpec> = {}
  for (const k of Object.keys(hyper)) {
    const h = hyper[k]
    specs[k] = isHyperSpec(h) ? h : hyperparam(name, k, h, finite)
  }
  return transformStage<S>({ name, hyper: specs, init, update: bindPlan(update, name) })
}
