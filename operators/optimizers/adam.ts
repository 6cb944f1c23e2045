import type { Hyperparam } from '../../src/engine/hyperparams.js'
import { scaleByAdam } from '../transforms/scaleByAdam.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import type * as t from 'io-ts'
import { AdamOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * Adam as torch.optim.Adam and optax's `adam` compute it (t = 1, 2, …):
 * μ ← β₁μ + (1 − β₁)g, ν ← β₂ν + (1 − β₂)g², θ ← θ − η·μ̂/(√ν̂ + ε) with μ̂ = μ/(1 − β₁ᵗ),
 * ν̂ = ν/(1 − β₂ᵗ). It is `pipe(scaleByAdam(options), scaleByLearningRate(lr), applyUpdates())`.
 * `{ efficient: true, eps: 1e-7 }` gives the book's `Adam` (ε added before the bias correction).
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { adam, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps
 * // the book's Adam (ε beside the uncorrected √ν) ends at
 * // (0.13600685239498186, 0.31824537553721943)
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), adam(0.3, { efficient: true, eps: 1e-7 })) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ 0.13600685239498125, 0.3182453755372196 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options b1 (0.9), b2 (0.999), eps (1e-8), efficient (false)
 * @throws {RangeError} `adam: lr: expected a positive finite number, got -0.1`
 * @see adamw, rmsprop
 */
export function adam(lr: Hyperparam, options: t.TypeOf<typeof AdamOptionsC> = {}): Optimizer {
  checkLr('adam', lr)
  return optimizer(
    'adam',
    scaleByAdam(decodeOptions(AdamOptionsC, options, 'adam')),
    scaleByLearningRate(lr),
  )
}
