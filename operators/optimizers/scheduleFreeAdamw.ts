import { expectPositive } from '../../src/errors.js'
import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { warmup } from '../schedules/warmup.js'
import { addDecayedWeights } from '../transforms/addDecayedWeights.js'
import { chain } from '../transforms/chain.js'
import { scaleByAdam } from '../transforms/scaleByAdam.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import type { Optimizer } from './optimizer.js'
import { scheduleFree } from './scheduleFree.js'
import type * as t from 'io-ts'
import { ScheduleFreeAdamwOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

/**
 * Schedule-free AdamW, optax's `contrib.schedule_free_adamw`: `scheduleFree` around AdamW
 * without momentum (z ← z − γ·(g/(√ν̂ + ε) + λ·y), ν̂ the bias-corrected second moment: Adam
 * with b1 = 0, optax's `scale_by_rms(bias_correction=True, eps_in_sqrt=False)`), γ linearly
 * warmed up from 0 over `warmupSteps` when given. `b1` is schedule-free's interpolation, not
 * Adam's. Evaluate on `scheduleFreeEvalParams(state)`.
 *
 * @example
 * ```ts
 * import { pipe, take } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import { gradient, scheduleFreeAdamw, scheduleFreeEvalParams } from 'gradstream/operators'
 *
 * // optax's docstring: f(x) = Σx² from [1, 2, 3], learning rate 1, f at x after each step
 * const sumSq = (x: Tensor) => x.data.reduce((s, v) => s + v * v, 0)
 * const f = (x: Tensor) => ({ loss: sumSq(x), grad: tensor([...x.data].map((v) => 2 * v)) })
 * train({ params: tensor([1, 2, 3]), step: pipe(gradient(f), scheduleFreeAdamw(1)) })
 *   .pipe(take(6))
 *   .subscribe((s) => console.log(sumSq(scheduleFreeEvalParams(s)).toPrecision(3)))
 * // → 14.0, 5.00, 3.05, 1.73, 0.894, 0.413
 * ```
 * @param lr γ, a positive number
 * @param options.b1 interpolation, default 0.9; b2 default 0.999; eps default 1e-8;
 *   weightDecay λ ≥ 0, default 0; warmupSteps a positive integer (default none);
 *   weightLrPower, default 2
 * @throws {RangeError} `scheduleFreeAdamw: lr: expected a positive finite number, got 0`
 * @see scheduleFree, scheduleFreeSgd, scheduleFreeEvalParams
 */
export function scheduleFreeAdamw(
  lr: number,
  options: t.TypeOf<typeof ScheduleFreeAdamwOptionsC> = {},
): Optimizer {
  const fn = 'scheduleFreeAdamw'
  expectPositive(fn, 'lr', lr)
  const o = decodeOptions(ScheduleFreeAdamwOptionsC, options, fn)
  const { b1, b2, eps, weightDecay = 0, warmupSteps, weightLrPower } = o
  const rate: Hyperparam = warmupSteps === undefined ? lr : warmup({ to: lr, steps: warmupSteps })
  const rms = scaleByAdam({ b1: 0, b2, eps })
  // λ = 0 adds 0·y (optax does): left out, the same numbers but for −0 and 0·∞
  const base =
    weightDecay === 0
      ? chain(rms, scaleByLearningRate(rate))
      : chain(rms, addDecayedWeights(weightDecay), scaleByLearningRate(rate))
  return scheduleFree(base, rate, { b1, weightLrPower })
}
