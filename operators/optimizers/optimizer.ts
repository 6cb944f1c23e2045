import type { Observable } from 'rxjs'
import type { TrainState, WithGradient } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import { type Hyperparam, hyperparam, nonNegative, positive } from '../../src/engine/hyperparams.js'
import { applyingStage } from '../../src/engine/stages.js'
import {
  type ChainState,
  chainTransform,
  type GradientTransform,
  type TransformOperator,
} from '../../src/engine/transform.js'

/**
 * An optimizer: the pipe of its transforms followed by `applyUpdates()`, so it ends the step
 * (WithGradient in, TrainState out). Its transforms keep their own slots side by side in
 * `state.opt` (`opt.scaleByAdam`), exactly as if piped by hand. It also carries them as one
 * pair, `transform` (a chain named after the optimizer, without applyUpdates), so that it can
 * be wrapped by `lookahead`, `masked` or `perParameter`.
 */
export interface Optimizer {
  <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>>
  readonly transform: GradientTransform<ChainState>
}

/**
 * Builds an optimizer from transform operators, in order: one fusible stage (see
 * src/engine/fusion.ts) computing what piping them and `applyUpdates()` computes, state for state
 * and bit for bit, without the last updates' intermediate trees (`applyingStage`).
 */
export function optimizer(name: string, ...ops: readonly TransformOperator<unknown>[]): Optimizer {
  const children = ops.map((o) => o.transform)
  const pair = chainTransform(name, name, children)
  const op = applyingStage(children)
  return Object.assign(op, { transform: pair })
}

/**
 * Checks an optimizer's learning rate when it is built, in the optimizer's name (`adam: lr:
 * expected a positive finite number, got -0.1`); values a schedule or Observable gives are
 * checked at each step by `scaleByLearningRate`.
 */
export function checkLr(fn: string, lr: unknown): Hyperparam {
  return hyperparam(fn, 'lr', lr, nonNegative, positive).value
}
