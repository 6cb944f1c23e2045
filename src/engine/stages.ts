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

/**
 * The stage of chain `ts` (with `apply`: ending the step), one per transform list: every
 * application of an operator (`of(state).pipe(momentum(η))` is one per state) and all their
 * runs share it, and the chain's plan, worked out at its first run.
 */
function chainFactory(ts: readonly GradientTransform[], apply: boolean): ChainFactory {
  const known = factories.get(ts)
  const made = known?.[apply ? 1 : 0]
  if (made !== undefined) return made
  let plan: ChainPlan | undefined
  const f: StageFactory<Tracked, object> = (run) =>
    chainStep(ts, apply, run, (plan ??= chainPlan(ts, apply)))
  const factory = Object.assign(f, { chain: { ts, apply } })
  factories.set(ts, apply ? [known?.[0], factory] : [factory, known?.[1]])
  return factory
}

/** The chains' stages, by their transforms (an operator's own list, or a joined one) */
const factories = new WeakMap<readonly GradientTransform[], [ChainFactory?, ChainFactory?]>()
const joined = new WeakMap<
  readonly GradientTransform[],
  WeakMap<readonly GradientTransform[], readonly GradientTransform[]>
>()

/** `[...a, ...b]`, the same list each time (so a composition's runs share its stage). */
function join(
  a: readonly GradientTransform[],
  b: readonly GradientTransform[],
): readonly GradientTransform[] {
  let byB = joined.get(a)
  if (byB === undefined) joined.set(a, (byB = new WeakMap()))
  let ab = byB.get(b)
  if (ab === undefined) byB.set(b, (ab = [...a, ...b]))
  return ab
}

/** `source` with transforms `ts` (and, with `apply`, the step's end) applied. */
function extend(source: Observable<unknown>, ts: readonly GradientTransform[], apply: boolean) {
  if (source instanceof FusedStages) {
    const fs = source.factories
    const last = fs[fs.length - 1] as Partial<ChainFactory> | undefined
    if (last?.chain !== undefined && !last.chain.apply) {
      const merged = chainFactory(join(last.chain.ts, ts), apply)
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
