import type { Hyperparam } from '../../src/engine/hyperparams.js'
import type * as t from 'io-ts'
import { AdabeliefOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { scaleByBelief } from '../transforms/scaleByBelief.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * AdaBelief (Zhuang et al. 2020) as optax's `adabelief` computes it: Adam whose second moment
 * is the belief (g − μ)², so the step is large where the gradient is as predicted and small
 * where it surprises. It is `pipe(scaleByBelief(options), scaleByLearningRate(lr), applyUpdates())`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { adabelief, gradient, maxSteps } from 'gradstream/operators'
 *
 * // f(x, y) = x²/20 + y² from (−7, 2)
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), adabelief(0.3)) })
 *   .pipe(maxSteps(100), last())
 *   .subscribe((s) => console.log(s.loss < 0.1)) // → true
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options b1 (0.9), b2 (0.999), eps (1e-16), epsRoot (1e-16)
 * @throws {RangeError} `adabelief: lr: expected a positive finite number, got -0.1`
 * @see adam, scaleByBelief
 */
export function adabelief(
  lr: Hyperparam,
  options: t.TypeOf<typeof AdabeliefOptionsC> = {},
): Optimizer {
  checkLr('adabelief', lr)
  const o = decodeOptions(AdabeliefOptionsC, options, 'adabelief')
  return optimizer('adabelief', scaleByBelief(o), scaleByLearningRate(lr))
}
