import type { Hyperparam } from '../hyperparamInternals.js'
import { addDecayedWeights } from '../transforms/addDecayedWeights.js'
import type { Mask } from '../transforms/maskInternals.js'
import { scaleByAdam, type ScaleByAdamOptions } from '../transforms/scaleByAdam.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { type Optimizer, optimizer } from './optimizerInternals.js'

/**
 * AdamW (Loshchilov & Hutter 2019), Adam with decoupled weight decay, as optax's `adamw` and
 * torch.optim.AdamW compute it: θ ← θ − η·(μ̂/(√ν̂ + ε) + λ·θ) (torch applies the two terms in
 * sequence, equal up to rounding). It is
 * `pipe(scaleByAdam(options), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(lr), applyUpdates())`.
 *
 * @example
 * ```ts
 * import { adamw } from 'gradstream/operators'
 *
 * // decay the weights but not the biases
 * adamw(1e-3, { weightDecay: 0.01, mask: (path) => !path.startsWith('b') })
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options b1, b2, eps, efficient as `adam`; weightDecay λ ≥ 0 (default 0.01, torch's);
 *   mask: which leaves decay (default all)
 * @throws {RangeError} `addDecayedWeights: weightDecay: expected a non-negative finite number, got -1`
 * @see adam, addDecayedWeights
 */
export function adamw(
  lr: Hyperparam,
  options: Omit<ScaleByAdamOptions, 'name'> & {
    readonly weightDecay?: Hyperparam
    readonly mask?: Mask
  } = {},
): Optimizer {
  const { weightDecay = 0.01, mask, ...adamOptions } = options
  return optimizer(
    'adamw',
    scaleByAdam(adamOptions),
    addDecayedWeights(weightDecay, { mask }),
    scaleByLearningRate(lr),
  )
}
