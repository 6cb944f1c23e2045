import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { addDecayedWeights } from '../transforms/addDecayedWeights.js'
import { scaleByAdam } from '../transforms/scaleByAdam.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import type * as t from 'io-ts'
import { AdamwOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * AdamW (Loshchilov & Hutter 2019), Adam with decoupled weight decay, as optax's `adamw` and
 * torch.optim.AdamW compute it: θ ← θ − η·(μ̂/(√ν̂ + ε) + λ·θ) (torch applies the two terms in
 * sequence, equal up to rounding). It is
 * `pipe(scaleByAdam(options), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(lr), applyUpdates())`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { adamw, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps
 * // weight decay on x only (an array's leaf paths are [0] and [1])
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({
 *   params: [-7, 2],
 *   step: pipe(gradient(f), adamw(0.3, { weightDecay: 0.1, mask: (path) => path !== '[1]' })),
 * })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ 0.6693157786138848, 0.3182453888963097 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options b1, b2, eps, efficient as `adam`; weightDecay λ ≥ 0 (default 0.01, torch's);
 *   mask: which leaves decay (default all)
 * @throws {RangeError} `adamw: weightDecay: expected a non-negative finite number, got -1`
 * @see adam, addDecayedWeights
 */
export function adamw(lr: Hyperparam, options: t.TypeOf<typeof AdamwOptionsC> = {}): Optimizer {
  checkLr('adamw', lr)
  const o = decodeOptions(AdamwOptionsC, options, 'adamw')
  const { weightDecay = 0.01, mask, ...adamOptions } = o
  return optimizer(
    'adamw',
    scaleByAdam(adamOptions),
    addDecayedWeights(weightDecay, { mask }),
    scaleByLearningRate(lr),
  )
}
