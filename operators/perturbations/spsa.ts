import type * as t from 'io-ts'
import { SpsaOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { PerturbationDesign } from './perturbationDesign.js'
import { drawDirections } from './randomDesignInternals.js'

/**
 * Simultaneous perturbation (Spall's SPSA): draw Δ with independent ±1 entries and probe
 * x + cΔ and x − cΔ — two evaluations at any dimension — then estimate
 * gᵢ = (f(x + cΔ) − f(x − cΔ)) / (2c) · Δᵢ, averaged over `samples` draws. Unbiased on
 * quadratics (E[ΔΔᵀ] = I), with variance Σⱼ≠ᵢ gⱼ² per coordinate and draw.
 *
 * Directions come from the run's generator (`train({ seed })`), or from the design's own when
 * `seed` is given (kept in `state.opt.spsa`), so the same seed gives the same stream.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import { gradient, loss, maxSteps, perturb, spsa, update } from 'gradstream/operators'
 *
 * const f = (x: Tensor) => x.data.reduce((sum, v) => sum + v * v, 0)
 * for (const design of [spsa({ c: 1e-3 }), spsa({ c: 1e-3, samples: 4 })]) {
 *   train({
 *     params: tensor([1, 2, 3]),
 *     step: pipe(perturb(design), loss(f), gradient(), update(0.1)),
 *   })
 *     .pipe(maxSteps(1), last())
 *     .subscribe((s) => console.log(s.evaluations)) // → 3, 9
 * }
 * // 2 probes a draw (x ± cΔ) plus the base point, in any dimension; more draws, lower variance
 * ```
 * @param c perturbation size, positive finite (default 1e-3)
 * @param samples draws averaged per step, a positive integer (default 1)
 * @param seed optional integer: use a generator of the design's own
 * @throws {RangeError} `spsa: c: expected a positive finite number, got 0`
 * @throws {TypeError} `spsa: options.C: expected no such key (known: c, samples, seed), got 0.1`
 * @see gaussian, centralDifference
 */
export function spsa(options: t.TypeOf<typeof SpsaOptionsC> = {}): PerturbationDesign {
  const { c = 1e-3, samples = 1, seed } = decodeOptions(SpsaOptionsC, options, 'spsa')
  return {
    name: 'spsa',
    probe: (state, n) =>
      drawDirections(
        state,
        'spsa',
        seed,
        samples,
        n,
        (r) => (r.uniform() < 0.5 ? -1 : 1), // a high bit: xoroshiro128+'s lowest bit is weak
        (directions) => ({ kind: 'spsa', scale: c, directions, antithetic: true }),
      ),
  }
}
