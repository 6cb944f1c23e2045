import type { Observable } from 'rxjs'
import { show } from '../../src/errors.js'
import type { TrainState, WithGradient } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { applyUpdates } from '../transforms/applyUpdates.js'
import type {
  GradientTransform,
  TransformContext,
  TransformOperator,
} from '../../src/engine/transform.js'
import type { Optimizer } from './optimizer.js'
import { optimizerStep } from '../../src/engine/chainStep.js'
import { handOverSum, leafSourcesOf } from '../../src/engine/leaves.js'
import { lazyData, type LazyData } from '../../src/tensor/lazyData.js'

// What the optimizer wrappers (scheduleFree, multiSteps) share, written against the public
// surface (a wrapped optimizer's pair, `adam(1e-3).transform`, `gradientTransform` and
// `applyUpdates`, as a user wrapping an optimizer of their own would write it) and the engine's
// one door for running a wrapped optimizer at its own speed (`optimizerStep`).

/** The pair inside an optimizer or transform operator (or the pair itself), checked. */
export function pairOf(fn: string, field: string, x: unknown): GradientTransform {
  const isPair = (y: unknown): y is GradientTransform =>
    typeof y === 'object' &&
    y !== null &&
    typeof (y as GradientTransform).init === 'function' &&
    typeof (y as GradientTransform).update === 'function' &&
    typeof (y as GradientTransform).hyper === 'object'
  if (isPair(x)) return x
  const inner = (x as { transform?: unknown } | null | undefined)?.transform
  if (isPair(inner)) return inner
  throw new TypeError(
    `${fn}: ${field}: expected an optimizer such as adam(1e-3) or a transform such as scaleByAdam(), got ${show(x)}`,
  )
}

/**
 * The wrapped pair's hyperparameters as the wrapper's own, `inner.<field>`, so that they are
 * resolved (and recorded) at every step as the pair's would be; a schedule is read at
 * `at(step)` (the wrapped optimizer's own step count).
 */
export function innerHyper(
  t: GradientTransform,
  at: (step: number) => number = (k) => k,
): Record<string, Hyperparam> {
  const out: Record<string, Hyperparam> = {}
  for (const [k, spec] of Object.entries(t.hyper)) {
    const v = spec.value
    out[`inner.${k}`] = typeof v === 'function' ? (step: number) => v(at(step)) : v
  }
  return out
}

/** The context the wrapped pair is called with: its own hyperparameters, its step. */
export function innerContext(ctx: TransformContext, step = ctx.step): TransformContext {
  const hyper: Record<string, number> = {}
  for (const k of Object.keys(ctx.hyper))
    if (k.startsWith('inner.')) hyper[k.slice(6)] = ctx.hyper[k]
  return { step, params: ctx.params, hyper }
}

/**
 * The wrapped pair's `update` for a wrapper whose updates end the step as they are (followed by
 * `applyUpdates`): the same updates and slot, but run through the engine's plan for the pair as
 * an optimizer (src/engine/chainStep.ts `optimizerStep`: the resident pass, no fresh arrays),
 * which makes θ + u in the same pass and hands it to the `applyUpdates` that follows. The updates
 * themselves are made only if someone reads them (another wrapper), by the pair's own `update`
 * on the same inputs (the same bits); a number leaf reads them at once.
 */
export function appliedUpdate(fn: string, t: GradientTransform): GradientTransform['update'] {
  const step = optimizerStep(t)
  return (updates, slot, ctx) => {
    const [next, nextSlot] = step(updates, slot, ctx)
    let made: readonly (Float64Array | LazyData)[] | null = null
    const leaf = (i: number) => {
      made ??= leafSourcesOf(fn, [ctx.params, t.update(updates, slot, ctx)[0]], 0).data[1]
      return made[i] as Float64Array // (read: input 1 is not left unread)
    }
    const set = leafSourcesOf(fn, [ctx.params], 0)
    const u = set.build(set.data[0].map((p, i) => lazyData(p.length, () => leaf(i))))
    handOverSum(ctx.params, u, next)
    return [u, nextSlot]
  }
}

/** A transform operator followed by `applyUpdates()`: an optimizer, usable where adam(…) is. */
export function asOptimizer<S>(op: TransformOperator<S>): Optimizer {
  const apply = applyUpdates()
  const run = <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
    apply(op(source))
  return Object.assign(run, { transform: op.transform }) as unknown as Optimizer
}
