import type * as t from 'io-ts'
import { FiniteDifferenceOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { PerturbationDesign, ProbeResult } from './perturbationDesign.js'

/**
 * One-sided differences: probe x + h·eᵢ for every coordinate (N probes, N + 1 evaluations with
 * the base point) and estimate gᵢ = (f(x + h·eᵢ) − f(x)) / h. Half the evaluations of central
 * differences, truncation error O(h·|f″|) instead of O(h²); the book's first, "bad" example
 * of numerical differentiation. Draws no randomness.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import {
 *   forwardDifference,
 *   gradient,
 *   loss,
 *   maxSteps,
 *   perturb,
 *   update,
 * } from 'gradstream/operators'
 *
 * const f = (x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2 + x.data[2] ** 2 // ∇f = 2x
 * const step = pipe(
 *   perturb<Tensor>(forwardDifference({ h: 1e-7 })),
 *   loss(f),
 *   gradient(),
 *   update(0.1),
 * )
 * train({ params: tensor([1, 2, 3]), step })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.evaluations, s.grad?.data.map((g) => +g.toFixed(6))))
 * // → 4 Float64Array(3) [ 2, 4, 6 ]
 * // 1 probe per parameter plus the base point; error O(h), so a smaller h than central differences
 * ```
 * @param h step, a positive finite number (default 1e-4)
 * @throws {RangeError} `forwardDifference: h: expected a positive finite number, got -1`
 * @see centralDifference
 */
export function forwardDifference(
  options: t.TypeOf<typeof FiniteDifferenceOptionsC> = {},
): PerturbationDesign {
  const { h = 1e-4 } = decodeOptions(FiniteDifferenceOptionsC, options, 'forwardDifference')
  // the description only depends on the size: reuse it while the size stays (no allocation a step)
  let last: ProbeResult = { probes: Object.freeze({ kind: 'forward', h, n: 0 }) }
  return {
    name: 'forwardDifference',
    probe: (_, n) => {
      if ((last.probes as { n: number }).n !== n) {
        last = { probes: Object.freeze({ kind: 'forward', h, n }) }
      }
      return last
    },
  }
}
