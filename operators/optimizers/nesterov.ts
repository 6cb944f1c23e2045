import type { Hyperparam } from '../../src/engine/hyperparams.js'
import type * as t from 'io-ts'
import { MomentumOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { positionalOptions } from '../../src/engine/transform.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { scaleByNesterov } from '../transforms/scaleByNesterov.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * Nesterov momentum as torch.optim.SGD(momentum=β, nesterov=True) and optax's
 * `sgd(nesterov=True)`: v ← β·v + g, θ ← θ − η·(g + β·v). It is
 * `pipe(scaleByNesterov({ beta }), scaleByLearningRate(lr), applyUpdates())`. (The book's
 * `Nesterov` class uses another parametrisation and is not reproduced.)
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { nesterov, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), nesterov(0.1, { beta: 0.9 })) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ 0.6896149016966202, -0.000679905836117203 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options.beta β in [0, 1), default 0.9 (a number, schedule or Observable)
 * @throws {RangeError} `nesterov: beta: expected a number in [0, 1), got 1`
 * @see momentum
 */
export function nesterov(lr: Hyperparam, options?: t.TypeOf<typeof MomentumOptionsC>): Optimizer
/** @deprecated β positional, kept for one release: write `nesterov(lr, { beta })`. */
export function nesterov(lr: Hyperparam, beta: Hyperparam): Optimizer
export function nesterov(lr: Hyperparam, ...args: unknown[]): Optimizer {
  const fn = 'nesterov'
  checkLr(fn, lr)
  const { beta = 0.9 } = decodeOptions(MomentumOptionsC, positionalOptions(fn, ['beta'], args), fn)
  return optimizer(fn, scaleByNesterov({ beta }), scaleByLearningRate(lr))
}
