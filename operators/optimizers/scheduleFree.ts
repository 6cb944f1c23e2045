import { elementwise, type LeafSlots } from '../../src/engine/elementwise.js'
import type { Params } from '../../src/tree/tree.js'
import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { gradientTransform } from '../transforms/gradientTransform.js'
import type { Optimizer } from './optimizer.js'
import { asOptimizer, innerHyper, pairOf } from './wrapperInternals.js'
import type * as t from 'io-ts'
import { ScheduleFreeOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

/**
 * The slot of `scheduleFree` (`state.opt.scheduleFree`): z, the running weight sum Σw and the
 * largest learning rate so far, b1 (for `scheduleFreeEvalParams`) and the wrapped optimizer's
 * slot.
 */
export type ScheduleFreeState = {
  readonly b1: number
  readonly weightSum: number
  readonly maxLr: number
  readonly z: Params
  readonly inner: unknown
}

/**
 * Schedule-free learning (Defazio et al. 2024) around any optimizer, as optax's
 * `contrib.schedule_free` computes it. Three sequences: z (the wrapped optimizer's iterates),
 * x (their weighted average, where to evaluate) and y (where gradients are taken, the
 * parameters `state.params`). At step t (1-based), with γ_t = `lr` at t:
 *
 *     w_t = max(γ_1 … γ_t)^weightLrPower,   c_t = w_t / (w_1 + … + w_t)
 *     z_{t+1} = z_t + inner(∇f(y_t))
 *     x_{t+1} = (1 − c_t)·x_t + c_t·z_{t+1},  x_t = (y_t − (1 − b1)·z_t)/b1 (recomputed)
 *     y_{t+1} = b1·x_{t+1} + (1 − b1)·z_{t+1}; the updates are y_{t+1} − y_t
 *
 * z starts at the parameters. Evaluate on x: `scheduleFreeEvalParams(state)`. The wrapped
 * optimizer should have no momentum of its own (adam with b1 = 0) and must include its
 * learning rate; its schedules run on its own step count (0-based), `lr` here on the 1-based
 * one (optax's). Its hyperparameters are recorded as `scheduleFree.inner.…`, `lr` as
 * `scheduleFree.lr`. An optimizer: it ends the step.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   adam,
 *   gradient,
 *   maxSteps,
 *   scheduleFree,
 *   scheduleFreeEvalParams,
 * } from 'gradstream/operators'
 *
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * const step = pipe(gradient(f), scheduleFree(adam(0.5, { b1: 0 }), 0.5))
 * train({ params: [-7, 2], step })
 *   .pipe(maxSteps(100), last())
 *   .subscribe((s) => console.log(scheduleFreeEvalParams(s).map((v) => v.toFixed(3))))
 * // → [ '0.093', '0.000' ]
 * ```
 * @param inner the optimizer whose steps move z (e.g. `sgd(lr)`, `adam(lr, { b1: 0 })`)
 * @param lr γ, the learning rate the averaging weights follow: a number, a schedule or an
 *   Observable (the same as the inner optimizer's)
 * @param options.b1 interpolation b1 in (0, 1], default 0.9; options.weightLrPower, default 2
 * @throws {RangeError} `scheduleFree: b1: expected a number in (0, 1], got 0`
 * @see scheduleFreeSgd, scheduleFreeAdamw, scheduleFreeEvalParams
 */
export function scheduleFree(
  inner: unknown,
  lr: Hyperparam,
  options: t.TypeOf<typeof ScheduleFreeOptionsC> = {},
): Optimizer {
  const fn = 'scheduleFree'
  const t = pairOf(fn, 'inner', inner)
  const { b1 = 0.9, weightLrPower = 2 } = decodeOptions(ScheduleFreeOptionsC, options, fn)
  const at1 = typeof lr === 'function' ? (k: number) => lr(k + 1) : lr // γ at the 1-based count
  return asOptimizer(
    gradientTransform<ScheduleFreeState>({
      name: fn,
      hyper: { lr: at1, ...innerHyper(t) },
      init: (params) => ({ b1, weightSum: 0, maxLr: 0, z: params, inner: t.init(params) }),
      // the inner optimizer's updates u first (its slot `inner`, its hyper `inner.*`), then z, y
      update: elementwise({
        inner: t,
        trees: ['z'],
        params: true,
        prepare: (s: ScheduleFreeState, { lr }) => {
          const maxLr = Math.max(s.maxLr, lr)
          const weight = maxLr ** weightLrPower
          const weightSum = s.weightSum + weight
          // optax: NaN if either is NaN, else weight/Σ with 0/0 → 0
          const c = Number.isNaN(weight) || Number.isNaN(weightSum) ? NaN : weight / weightSum || 0
          return [
            { b1, c },
            { b1, weightSum, maxLr },
          ]
        },
        rule: scheduleFreeRule,
      }),
    }),
  )
}

/** z' = z + u, x' = (1 − c)·x + c·z' with x = (y − (1 − b1)·z)/b1; update b1·x' + (1 − b1)·z' − y. */
function scheduleFreeRule(
  { b1, c }: { b1: number; c: number },
  u: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
  y: Float64Array,
) {
  const z0 = old.z[i]
  const z = (next.z[i] = z0 + u)
  const x = (1 - c) * ((y[i] - (1 - b1) * z0) / b1) + c * z
  return b1 * x + (1 - b1) * z - y[i]
}
