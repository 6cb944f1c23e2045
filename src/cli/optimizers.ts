import { adagrad } from '../../operators/optimizers/adagrad.js'
import { adam } from '../../operators/optimizers/adam.js'
import { adamw } from '../../operators/optimizers/adamw.js'
import { lion } from '../../operators/optimizers/lion.js'
import { momentum } from '../../operators/optimizers/momentum.js'
import { nesterov } from '../../operators/optimizers/nesterov.js'
import type { Optimizer } from '../../operators/optimizers/optimizer.js'
import { rmsprop } from '../../operators/optimizers/rmsprop.js'
import { scheduleFreeAdamw } from '../../operators/optimizers/scheduleFreeAdamw.js'
import { scheduleFreeSgd } from '../../operators/optimizers/scheduleFreeSgd.js'
import { sgd } from '../../operators/optimizers/sgd.js'

/** What `--b1` and `--warmup` set (schedule-free's interpolation b1 and warmup steps). */
export interface OptimizerFlags {
  readonly b1?: number
  readonly warmup?: number
}

/**
 * The optimizers the CLI's `--optimizer` names, each built from a learning rate with its defaults.
 * `sam-sgd` is sgd after SAM's gradient stage (trainMnist swaps the stage for `sam-` names).
 */
export const OPTIMIZERS: {
  readonly [name: string]: (lr: number, flags: OptimizerFlags) => Optimizer
} = {
  sgd,
  momentum: (lr) => momentum(lr),
  nesterov: (lr) => nesterov(lr),
  adagrad: (lr) => adagrad(lr),
  rmsprop: (lr) => rmsprop(lr),
  adam: (lr) => adam(lr),
  adamw: (lr) => adamw(lr),
  lion: (lr) => lion(lr),
  'sam-sgd': (lr) => sgd(lr),
  'schedule-free-sgd': (lr, { b1, warmup }) => scheduleFreeSgd(lr, { b1, warmupSteps: warmup }),
  'schedule-free-adamw': (lr, { b1, warmup }) => scheduleFreeAdamw(lr, { b1, warmupSteps: warmup }),
}
