import type { Hyperparam } from '../../src/engine/hyperparams.js'
import type * as t from 'io-ts'
import { MomentumOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { positionalOptions } from '../../src/engine/transform.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { scaleByMomentum } from '../transforms/scaleByMomentum.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * The book's `Momentum` (heavy ball): v ← β·v − η·g, θ ← θ + v, bit for bit; it is
 * `pipe(scaleByLearningRate(lr), scaleByMomentum({ beta }), applyUpdates())`. For a constant η
 * this equals torch.optim.SGD(momentum=β) (v ← β·v + g, θ ← θ − η·v) up to rounding; with a
 * schedule, η here scales each gradient as it arrives (torch's form is
 * `pipe(scaleByMomentum({ beta }), scaleByLearningRate(lr), applyUpdates())`).
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { momentum, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps;
 * // the book's Momentum ends exactly here
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), momentum(0.1, { beta: 0.9 })) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ 0.896413858493733, 0.08808560171506971 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options.beta β in [0, 1), default 0.9 (a number, schedule or Observable)
 * @throws {RangeError} `momentum: beta: expected a number in [0, 1), got 1`
 * @see nesterov, sgd
 */
export function momentum(lr: Hyperparam, options?: t.TypeOf<typeof MomentumOptionsC>): Optimizer
/** @deprecated β positional, kept for one release: write `momentum(lr, { beta })`. */
export function momentum(lr: Hyperparam, beta: Hyperparam): Optimizer
export function momentum(lr: Hyperparam, ...args: unknown[]): Optimizer {
  const fn = 'momentum'
  checkLr(fn, lr)
  const { beta = 0.9 } = decodeOptions(MomentumOptionsC, positionalOptions(fn, ['beta'], args), fn)
  return optimizer(fn, scaleByLearningRate(lr), scaleByMomentum({ beta }))
}
