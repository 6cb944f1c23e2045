import type { Hyperparam } from '../../src/engine/hyperparams.js'
import type * as t from 'io-ts'
import { AdagradOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { positionalOptions } from '../../src/engine/transform.js'
import { scaleByAdagrad } from '../transforms/scaleByAdagrad.js'
import { scaleByLearningRate } from '../transforms/scaleByLearningRate.js'
import { checkLr, type Optimizer, optimizer } from './optimizer.js'

/**
 * AdaGrad as torch.optim.Adagrad (lr_decay 0, weight_decay 0) and the book's `AdaGrad` compute
 * it: h ← h + g², θ ← θ − η·g / (√h + ε). It is
 * `pipe(scaleByAdagrad({ eps }), scaleByLearningRate(lr), applyUpdates())`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { adagrad, gradient, maxSteps } from 'gradstream/operators'
 *
 * // the book's ch. 6 problem: f(x, y) = x²/20 + y² from (−7, 2), 30 steps;
 * // the book's AdaGrad ends exactly here
 * const f = ([x, y]: number[]) => ({ loss: x ** 2 / 20 + y ** 2, grad: [x / 10, 2 * y] })
 * train({ params: [-7, 2], step: pipe(gradient(f), adagrad(1.5, { eps: 1e-7 })) })
 *   .pipe(maxSteps(30), last())
 *   .subscribe((s) => console.log(s.params)) // → [ -0.12016232231416045, 2.486389893984459e-17 ]
 * ```
 * @param lr η: a positive number, a schedule or an Observable
 * @param options.eps ε ≥ 0, default 1e-10 (torch's; the book's is 1e-7)
 * @param options.initialAccumulator h₀ ≥ 0, default 0
 * @throws {RangeError} `adagrad: eps: expected a non-negative finite number, got -1`
 * @see rmsprop, adam
 */
export function adagrad(lr: Hyperparam, options?: t.TypeOf<typeof AdagradOptionsC>): Optimizer
/** @deprecated ε positional, kept for one release: write `adagrad(lr, { eps })`. */
export function adagrad(lr: Hyperparam, eps: Hyperparam): Optimizer
export function adagrad(lr: Hyperparam, ...args: unknown[]): Optimizer {
  const fn = 'adagrad'
  checkLr(fn, lr)
  const o = decodeOptions(AdagradOptionsC, positionalOptions(fn, ['eps'], args), fn)
  return optimizer(fn, scaleByAdagrad(o), scaleByLearningRate(lr))
}
