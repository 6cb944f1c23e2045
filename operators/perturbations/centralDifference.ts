import type * as t from 'io-ts'
import { FiniteDifferenceOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { PerturbationDesign, ProbeResult } from './perturbationDesign.js'

/**
 * The book's numerical gradient: for every coordinate i, probe x + h·eᵢ and x − h·eᵢ (2N
 * probes, evaluated on a scratch copy in the book's order), and estimate
 * gᵢ = (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h). Truncation error O(h²·|f‴|), rounding
 * O(ε·|f|/h); h = 1e-4 is the book's choice. Draws no randomness.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import {
 *   centralDifference,
 *   gradient,
 *   loss,
 *   maxSteps,
 *   perturb,
 *   update,
 * } from 'gradstream/operators'
 *
 * const f = (x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2 + x.data[2] ** 2 // ∇f = 2x
 * const step = pipe(perturb<Tensor>(centralDifference()), loss(f), gradient(), update(0.1))
 * train({ params: tensor([1, 2, 3]), step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.evaluations, s.grad?.data.map((g) => +g.toFixed(6))))
 * // → 7 Float64Array(3) [ 2, 4, 6 ]
 * // 2 probes per parameter plus the base point; h = 1e-4 as the book's numerical_gradient
 * // (another step: centralDifference({ h: 1e-5 }))
 * ```
 * @param h step, a positive finite number (default 1e-4)
 * @throws {RangeError} `centralDifference: h: expected a positive finite number, got 0`
 * @throws {TypeError} `centralDifference: options.H: expected no such key (known: h), got 0.1`
 * @see forwardDifference, spsa, gaussian
 */
export function centralDifference(
  options: t.TypeOf<typeof FiniteDifferenceOptionsC> = {},
): PerturbationDesign {
  const { h = 1e-4 } = decodeOptions(FiniteDifferenceOptionsC, options, 'centralDifference')
  // the description only depends on the size: reuse it while the size stays (no allocation a step)
  let last: ProbeResult = { probes: Object.freeze({ kind: 'central', h, n: 0 }) }
  return {
    name: 'centralDifference',
    probe: (_, n) => {
      if ((last.probes as { n: number }).n !== n) {
        last = { probes: Object.freeze({ kind: 'central', h, n }) }
      }
      return last
    },
  }
}
