import { expectPositive } from '../../src/errors.js'
import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { warmup } from '../schedules/warmup.js'
import { addDecayedWeights } from '../transforms/addDecayedWeights.js'
import { chain } from '../transforms/chain.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import type { Optimizer } from './optimizer.js'
import { scheduleFree } from './scheduleFree.js'
import type * as t from 'io-ts'
import { ScheduleFreeSgdOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

/**
 * Schedule-free SGD, optax's `contrib.schedule_free_sgd`: `scheduleFree` around plain gradient
 * descent (z ← z − γ·(g + λ·y) with weight decay λ), γ linearly warmed up from 0 over
 * `warmupSteps` (optax's `warmup_constant_schedule`) when given, then constant. Evaluate on
 * `scheduleFreeEvalParams(state)`.
 *
 * @example
 * ```ts
 * import { pipe, take } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import { gradient, scheduleFreeEvalParams, scheduleFreeSgd } from 'gradstream/operators'
 *
 * // optax's docstring: f(x) = Σx² from [1, 2, 3], learning rate 1, f at x after each step
 * const sumSq = (x: Tensor) => x.data.reduce((s, v) => s + v * v, 0)
 * const f = (x: Tensor) => ({ loss: sumSq(x), grad: tensor([...x.data].map((v) => 2 * v)) })
 * train({ params: tensor([1, 2, 3]), step: pipe(gradient(f), scheduleFreeSgd(1)) })
 *   .pipe(take(6))
 *   .subscribe((s) => console.log(sumSq(scheduleFreeEvalParams(s)).toPrecision(3)))
 * // → 14.0, 14.0, 9.13e-32, 0.996, 0.806, 0.241
 * // (optax, in float32: 14.0, 1.40E+01, 1.75E-14, 9.96E-01, 8.06E-01, 2.41E-01)
 * ```
 * @param lr γ, a positive number
 * @param options.b1 interpolation, default 0.9; weightDecay λ ≥ 0 (default none);
 *   warmupSteps a positive integer (default none); weightLrPower, default 2
 * @throws {RangeError} `scheduleFreeSgd: lr: expected a positive finite number, got 0`
 * @see scheduleFree, scheduleFreeAdamw, scheduleFreeEvalParams
 */
export function scheduleFreeSgd(
  lr: number,
  options: t.TypeOf<typeof ScheduleFreeSgdOptionsC> = {},
): Optimizer {
  const fn = 'scheduleFreeSgd'
  expectPositive(fn, 'lr', lr)
  const o = decodeOptions(ScheduleFreeSgdOptionsC, options, fn)
  const { b1, weightDecay, warmupSteps, weightLrPower } = o
  const rate: Hyperparam = warmupSteps === undefined ? lr : warmup({ to: lr, steps: warmupSteps })
  const base =
    weightDecay === undefined
      ? chain(scaleByLearningRate(rate))
      : chain(addDecayedWeights(weightDecay), scaleByLearningRate(rate))
  return scheduleFree(base, rate, { b1, weightLrPower })
}
