import type { RngState } from '../random/rng.js'
import type { Evaluated, Perturbed, ProbeSet, TrainState, WithGradient } from '../state/types.js'
import type { Params } from '../tree/tree.js'

// Every state a stage builds comes from ONE literal, `trainState` below: the TrainState's field
// list is written there and nowhere else (test/engine/stateFields.test.ts fails on a second
// copy). A stage state is that literal plus its own fields, assigned in one fixed order, so each
// stage's states share one hidden class (property reads stay monomorphic). Spreading a state
// (`{ ...s }`) costs several times more per step (bench/loop.bench.ts).
//
// The states are returned unfrozen (their parts are frozen): a stage's state is frozen by the
// chain of fused stages that emits it (src/engine/fusion.ts), and a state one stage hands to the
// next inside that chain is never seen outside it, so it is not frozen at all.

/** The fields of a TrainState, in the order every state is built with. */
export const TRAIN_STATE_FIELDS = Object.freeze([
  'step',
  'params',
  'loss',
  'grad',
  'lr',
  'opt',
  'hyper',
  'evaluations',
  'rng',
  'history',
  'metrics',
] as const)

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The one literal: `s`'s history and metrics, the rest as given. */
function trainState<P extends Params>(
  s: TrainState<P> | WithGradient<P>,
  step: number,
  params: P,
  loss: number,
  grad: P | null,
  lr: number,
  opt: TrainState['opt'],
  hyper: TrainState['hyper'],
  evaluations: number,
  rng: RngState,
): Mutable<TrainState<P>> {
  return {
    step,
    params,
    loss,
    grad,
    lr,
    opt,
    hyper,
    evaluations,
    rng,
    history: s.history,
    metrics: s.metrics,
  }
}

/** `s` with a new slot record, hyper record and learning rate, same step. */
function sameStep<P extends Params>(
  s: TrainState<P> | WithGradient<P>,
  opt: TrainState['opt'],
  hyper: TrainState['hyper'],
  lr: number,
): Mutable<TrainState<P>> {
  return trainState(s, s.step, s.params, s.loss, s.grad, lr, opt, hyper, s.evaluations, s.rng)
}

/** Step 0 (frozen): the parameters, nothing evaluated yet, the generator's state; all parts frozen by the caller. */
export function initialState<P extends Params>(params: P, rng: RngState): TrainState<P> {
  const empty = {
    history: Object.freeze([]),
    metrics: Object.freeze({}),
  } as unknown as TrainState<P>
  const none = Object.freeze({})
  return Object.freeze(trainState(empty, 0, params, NaN, null, NaN, none, none, 0, rng))
}

/** The state after `perturb`. */
export function perturbedState<P extends Params>(
  s: TrainState<P>,
  probes: ProbeSet,
  rng: RngState,
  opt: TrainState['opt'],
): Perturbed<P> {
  const out = trainState(
    s,
    s.step,
    s.params,
    s.loss,
    s.grad,
    s.lr,
    opt,
    s.hyper,
    s.evaluations,
    rng,
  )
  const o = out as Mutable<Perturbed<P>>
  o.batch = s.batch
  o.probes = probes
  return o
}

/** The state after `loss`. */
export function evaluatedState<P extends Params>(
  s: Perturbed<P>,
  baseLoss: number,
  losses: Float64Array,
): Evaluated<P> {
  const evaluations = s.evaluations + 1 + losses.length
  const out = trainState(
    s,
    s.step,
    s.params,
    baseLoss,
    s.grad,
    s.lr,
    s.opt,
    s.hyper,
    evaluations,
    s.rng,
  )
  const o = out as Mutable<Evaluated<P>>
  o.batch = s.batch
  o.probes = s.probes
  o.baseLoss = baseLoss
  o.losses = losses
  return o
}

/** The state after `gradient`: the updates start as the gradient. */
export function withGradientState<P extends Params>(
  s: TrainState<P>,
  grad: P,
  baseLoss: number,
  evaluations: number,
): WithGradient<P> {
  const out = trainState(
    s,
    s.step,
    s.params,
    baseLoss,
    grad,
    s.lr,
    s.opt,
    s.hyper,
    evaluations,
    s.rng,
  )
  const o = out as unknown as Mutable<WithGradient<P>>
  o.batch = s.batch
  o.baseLoss = baseLoss
  o.updates = grad
  return o
}

/**
 * The state that ends a step (`applyUpdates`): `step + 1`, the new parameters, `loss` the base
 * loss, the gradient (frozen by the caller), the slots and hyperparameters; the stage-only
 * fields (probes, losses, baseLoss, updates, batch, transforms) are dropped.
 */
export function steppedState<P extends Params>(
  s: WithGradient<P>,
  params: P,
  grad: P,
  lr: number,
  opt: TrainState['opt'],
  hyper: TrainState['hyper'],
): TrainState<P> {
  return trainState(s, s.step + 1, params, s.baseLoss, grad, lr, opt, hyper, s.evaluations, s.rng)
}

const isField: { readonly [field: string]: true } = Object.fromEntries(
  TRAIN_STATE_FIELDS.map((f) => [f, true] as const),
)

/**
 * `{ ...s, opt, hyper, lr, ...fields }` without the spread: the TrainState fields of `s` with
 * these three replaced, then every other own field of `s` (a stage's, a user's own), then
 * `fields` (name, value, name, value, …; they win over `s`'s).
 */
export function withSlots<T extends TrainState | WithGradient>(
  s: T,
  opt: TrainState['opt'],
  hyper: TrainState['hyper'],
  lr: number,
  ...fields: unknown[]
): T {
  const out = sameStep(s, opt, hyper, lr) as Record<string, unknown>
  for (const k in s) {
    if (isField[k] !== true && Object.hasOwn(s, k)) out[k] = (s as Record<string, unknown>)[k]
  }
  for (let i = 0; i < fields.length; i += 2) out[fields[i] as string] = fields[i + 1]
  return out as T
}
