import { adagrad } from '../../operators/optimizers/adagrad.js'
import { adam } from '../../operators/optimizers/adam.js'
import { adamw } from '../../operators/optimizers/adamw.js'
import { lion } from '../../operators/optimizers/lion.js'
import { momentum } from '../../operators/optimizers/momentum.js'
import { nesterov } from '../../operators/optimizers/nesterov.js'
import type { Optimizer } from '../../operators/optimizers/optimizerInternals.js'
import { rmsprop } from '../../operators/optimizers/rmsprop.js'
import { sgd } from '../../operators/optimizers/sgd.js'

/** The optimizers the CLI's `--optimizer` names, each built from a learning rate with its defaults. */
export const OPTIMIZERS: { readonly [name: string]: (lr: number) => Optimizer } = {
  sgd,
  momentum: (lr) => momentum(lr),
  nesterov: (lr) => nesterov(lr),
  adagrad: (lr) => adagrad(lr),
  rmsprop: (lr) => rmsprop(lr),
  adam: (lr) => adam(lr),
  adamw: (lr) => adamw(lr),
  lion: (lr) => lion(lr),
}
