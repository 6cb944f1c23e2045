import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { addDecayedWeights } from '../transforms/addDecayedWeights.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { scaleByLion } from '../transforms/scaleByLion.js'
import type * as t from 'io-ts'
import { LionOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * Lion (Chen et al. 2023) as optax's `lion` computes it: c = sign(β₁μ + (1 − β₁)g),
 * μ ← β₂μ + (1 − β₂)g, θ ← θ − η·(c + λ·θ). It is
 * `pipe(scaleByLion({ b1, b2 }), addDecayedWeights(weightDecay, { mask }), scaleByLearningRate(lr), applyUpdates())`.
 * Lion's steps have magnitude η in every coordinate: use a learning rate 3–10× smaller than
 * AdamW's.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { lion, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps
 * // each step moves each coordinate by 0.1·(±1 + λ·θ)
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), lion(0.1)) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ -3.98337636433825, -1.0016453653754462 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options b1 (0.9), b2 (0.99), weightDecay λ (default 1e-3, optax's), mask
 * @throws {RangeError} `lion: b1: expected a number in [0, 1), got 1`
 * @see adamw
 */
export function lion(lr: Hyperparam, options: t.TypeOf<typeof LionOptionsC> = {}): Optimizer {
  checkLr('lion', lr)
  const { b1, b2, weightDecay = 1e-3, mask } = decodeOptions(LionOptionsC, options, 'lion')
  return optimizer(
    'lion',
    scaleByLion({ b1, b2 }),
    addDecayedWeights(weightDecay, { mask }),
    scaleByLearningRate(lr),
  )
}
