import type * as t from 'io-ts'
import { GaussianOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { PerturbationDesign } from './perturbationDesign.js'
import { drawDirections } from './randomDesignInternals.js'

/**
 * Gaussian smoothing (the evolution-strategies estimator): draw u ~ N(0, I) and probe
 * x ± σu (antithetic) or x + σu, then estimate
 * g = (1/S) Σₖ (f(x + σuₖ) − f(x − σuₖ)) / (2σ) · uₖ   (antithetic), or
 * g = (1/S) Σₖ (f(x + σuₖ) − f(x)) / σ · uₖ            (one-sided).
 * Unbiased on quadratics (E[uuᵀ] = I, odd moments vanish); the antithetic form has variance
 * |g|² + gᵢ² per coordinate and sample.
 *
 * Directions come from the run's generator (`train({ seed })`), or from the design's own when
 * `seed` is given (kept in `state.opt.gaussian`).
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import { gaussian, gradient, loss, maxSteps, perturb, update } from 'gradstream/operators'
 *
 * const f = (x: Tensor) => x.data.reduce((sum, v) => sum + v * v, 0)
 * const step = pipe(
 *   perturb<Tensor>(gaussian({ sigma: 1e-2, samples: 8 })),
 *   loss(f),
 *   gradient(),
 *   update(0.1),
 * )
 * train({ params: tensor([1, 2, 3]), step, seed: 1 })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.evaluations)) // → 17
 * // 8 directions, each probed at x ± σu, plus the base point, in any dimension
 * ```
 * @param sigma smoothing scale, positive finite (default 1e-2)
 * @param samples directions per step, a positive integer (default 1)
 * @param antithetic probe both x + σu and x − σu (default true)
 * @param seed optional integer: use a generator of the design's own
 * @throws {RangeError} `gaussian: sigma: expected a positive finite number, got 0`
 * @throws {TypeError} `gaussian: options: expected an object, got null`
 * @see spsa
 */
export function gaussian(options: t.TypeOf<typeof GaussianOptionsC> = {}): PerturbationDesign {
  const {
    sigma = 1e-2,
    samples = 1,
    antithetic = true,
    seed,
  } = decodeOptions(GaussianOptionsC, options, 'gaussian')
  return {
    name: 'gaussian',
    probe: (state, n) =>
      drawDirections(
        state,
        'gaussian',
        seed,
        samples,
        n,
        (r) => r.normal(),
        (directions) => ({ kind: 'gaussian', scale: sigma, directions, antithetic }),
      ),
  }
}
