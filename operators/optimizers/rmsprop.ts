import type { Hyperparam } from '../../src/engine/hyperparams.js'
import type * as t from 'io-ts'
import { RmspropOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { positionalOptions } from '../../src/engine/transform.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { scaleByRms } from '../transforms/scaleByRms.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * RMSprop as torch.optim.RMSprop (centered false, momentum 0) and the book's `RMSprop` compute
 * it: ν ← ρ·ν + (1 − ρ)·g², θ ← θ − η·g / (√ν + ε). It is
 * `pipe(scaleByRms({ decay, eps }), scaleByLearningRate(lr), applyUpdates())`; optax's ε-in-root
 * form is `rmsprop(lr, { epsInSqrt: true })`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { rmsprop, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), rmsprop(0.1)) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ -0.697418435961914, 1.4834509826897896e-8 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options.decay ρ in [0, 1), default 0.99 (torch's α, the book's decay_rate)
 * @param options.eps ε ≥ 0, default 1e-8 (torch's; the book's is 1e-7)
 * @param options.epsInSqrt ε under the root (optax), default false
 * @throws {RangeError} `rmsprop: decay: expected a number in [0, 1), got 1`
 * @see adagrad, adam
 */
export function rmsprop(lr: Hyperparam, options?: t.TypeOf<typeof RmspropOptionsC>): Optimizer
/** @deprecated decay and ε positional, kept for one release: write `rmsprop(lr, { decay, eps })`. */
export function rmsprop(lr: Hyperparam, decay: Hyperparam, eps?: Hyperparam): Optimizer
export function rmsprop(lr: Hyperparam, ...args: unknown[]): Optimizer {
  const fn = 'rmsprop'
  checkLr(fn, lr)
  const o = decodeOptions(RmspropOptionsC, positionalOptions(fn, ['decay', 'eps'], args), fn)
  return optimizer(fn, scaleByRms(o), scaleByLearningRate(lr))
}
