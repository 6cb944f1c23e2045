import type { RngState } from '../random/rng.js'
import type { Params } from '../tree/tree.js'

/**
 * Why a run stopped, as the stopping rule that ended it records it on the last state, e.g.
 * `{ rule: 'lossBelow', threshold: 1e-8 }`.
 */
export interface StopReason {
  readonly rule: string
  readonly [detail: string]: unknown
}

/**
 * The state the training loop emits after every step (and once before the first). Deeply
 * frozen; every field is plain data, so a state survives a JSON round trip (see `src/state`'s
 * codecs) and resuming from it replays the stream.
 */
export interface TrainState<P extends Params = Params> {
  /** Completed updates: 0 for the initial state. */
  readonly step: number
  readonly params: P
  /**
   * The objective at the parameters the last update started from (on that step's batch);
   * NaN on the initial state, before anything was evaluated.
   */
  readonly loss: number
  /** The gradient (estimate) the last update used; null on the initial state. */
  readonly grad: P | null
  /** The learning rate the last update used (NaN before the first update). */
  readonly lr: number
  /**
   * Optimizer slots: each gradient transform keeps what it remembers under its own name here
   * (`opt.scaleByAdam = { mu, nu, count }`), never in a closure.
   */
  readonly opt: { readonly [slot: string]: unknown }
  /**
   * Every hyperparameter value actually used by the last step, by `slot.name`
   * (`{ 'scaleByLearningRate.lr': 0.01 }`), so a UI can plot it.
   */
  readonly hyper: { readonly [name: string]: number }
  /** Objective evaluations so far, over the whole run. */
  readonly evaluations: number
  /** The run's random generator, where it stands after this step. */
  readonly rng: RngState
  /** Loss history the plateau rules read, newest last (bounded length). */
  readonly history: readonly number[]
  /** Extra measurements added by operators such as `evaluateEvery` (accuracy, …). */
  readonly metrics: { readonly [name: string]: number }
  /** Set on the last state by the stopping rule that ended the run. */
  readonly stopReason?: StopReason
  /**
   * The step's mini-batch: present only on the state the driver feeds into the step (when
   * `train` was given `data`), never on emitted states, so a kept history pins no batches.
   */
  readonly batch?: unknown
}

/**
 * How a perturbation design wants the objective probed around the base point: either along
 * the coordinate axes with steps `h` (finite differences) or along explicit random
 * directions. A probe is a description (direction and step), never a copy of the parameters.
 */
export type ProbeSet =
  | {
      readonly kind: 'central' | 'forward' | 'backward'
      readonly h: number
      /** number of coordinates (the parameter tree's size) */
      readonly n: number
    }
  | {
      readonly kind: 'spsa' | 'gaussian'
      /** perturbation scale (c for SPSA, σ for Gaussian smoothing) */
      readonly scale: number
      /** one flat direction per sample, each of the tree's size */
      readonly directions: readonly Float64Array[]
      /** evaluate at p − scale·u as well as p + scale·u */
      readonly antithetic: boolean
    }

/** The step's state once `perturb` has chosen where to probe. */
export type Perturbed<P extends Params = Params> = TrainState<P> & {
  readonly probes: ProbeSet
  /** the mini-batch this step evaluates on (undefined without `data`) */
  readonly batch?: unknown
}

/** After `loss`: the objective at the base point and at every probe. */
export type Evaluated<P extends Params = Params> = Perturbed<P> & {
  /** f(p) on this step's batch */
  readonly baseLoss: number
  /** f at each probe, in the order the design lists them */
  readonly losses: Float64Array
}

/**
 * After `gradient`: the gradient estimate, and the update the optimizer transforms work on
 * (initially the gradient itself; `applyUpdates` adds it to the parameters).
 */
export type WithGradient<P extends Params = Params> = Omit<TrainState<P>, 'grad'> & {
  readonly grad: P
  readonly baseLoss: number
  readonly updates: P
  readonly batch?: unknown
}
