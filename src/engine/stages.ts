import type { Observable } from 'rxjs'
import type { TrainState, WithGradient } from '../state/types.js'
import type { Params } from '../tree/tree.js'
import { type ChainPlan, chainPlan, chainStep } from './chainStep.js'
import { FusedStages, stage, type StageFactory } from './fusion.js'
import type { GradientTransform, TransformOperator, Tracked } from './transform.js'

// Transforms as step-pipeline stages. Every transform operator, every optimizer, `update` and
// `applyUpdates` is one of two stages: a chain of transforms (`apply` false) or a chain that
// also ends the step (`apply` true). Piped onto a chain that does not end the step, a transform
// or an ending joins it instead of adding a stage, so `pipe(gradient(f), scaleByAdam(),
// scaleByLearningRate(η), applyUpdates())` is the same single pass as `adam(η)`: a user's
// composition runs as fast as a pre-made optimizer (src/engine/chainStep.ts).

interface Chain {
  readonly ts: readonly GradientTransform[]
  readonly apply: boolean
}

type ChainFactory = StageFactory<Tracked, object> & { readonly chain: Chain }

function chainFactory(ts: readonly GradientTransform[], apply: boolean): ChainFactory {
  const f: StageFactory<Tracked, object> = (run) => chainStep(ts, apply, run, planOf(ts, apply))
  return Object.assign(f, { chain: { ts, apply } })
}

/** The chains' plans, by their transforms (an operator's own list, or a merged one) */
const plans = new WeakMap<readonly GradientTransform[], readonly [ChainPlan?, ChainPlan?]>()

/**
 * The plan of chain `ts`, worked out at its first run and shared by every later run of the
 * same operator (`of(state).pipe(momentum(η))` is a run per state).
 */
function planOf(ts: readonly GradientTransform[], apply: boolean): ChainPlan {
  const known = plans.get(ts)
  const plan = known?.[apply ? 1 : 0]
  if (plan !== undefined) return plan
  const made = chainPlan(ts, apply)
  plans.set(ts, apply ? [known?.[0], made] : [made, known?.[1]])
  return made
}

/** `source` with transforms `ts` (and, with `apply`, the step's end) applied. */
function extend(source: Observable<unknown>, ts: readonly GradientTransform[], apply: boolean) {
  if (source instanceof FusedStages) {
    const fs = source.factories
    const last = fs[fs.length - 1] as Partial<ChainFactory> | undefined
    if (last?.chain !== undefined && !last.chain.apply) {
      const merged = chainFactory([...last.chain.ts, ...ts], apply)
      return new FusedStages(source.base, [
        ...fs.slice(0, -1),
        merged as StageFactory<never, unknown>,
      ])
    }
  }
  return stage(chainFactory(ts, apply))(source as Observable<Tracked>)
}

/**
 * A transform as a step-pipeline stage: maps `updates` (and its slot) of every state, keeping
 * the state's other fields and its type; it carries its pair as `transform`.
 */
export function transformStage<S>(t: GradientTransform<S>): TransformOperator<S> {
  const ts = [t as GradientTransform]
  const op = <T extends WithGradient>(source: Observable<T>): Observable<T> =>
    extend(source, ts, false) as Observable<T>
  return Object.assign(op, { transform: t })
}

/**
 * Transforms `ts` then the end of the step (θ ← θ + u, `step + 1`) as one stage: what
 * `pipe(...ts operators, applyUpdates())` computes, state for state and bit for bit.
 */
export function applyingStage(ts: readonly GradientTransform[]) {
  return <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
    extend(source, ts, true) as Observable<TrainState<P>>
}
