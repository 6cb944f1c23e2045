import { FiniteDifferenceOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { PerturbationDesign, ProbeResult } from './perturbationInternals.js'

/**
 * One-sided differences: probe x + h·eᵢ for every coordinate (N probes, N + 1 evaluations with
 * the base point) and estimate gᵢ = (f(x + h·eᵢ) − f(x)) / h. Half the evaluations of central
 * differences, truncation error O(h·|f″|) instead of O(h²); the book's first, "bad" example
 * of numerical differentiation. Draws no randomness.
 *
 * @example
 * ```ts
 * import { perturb, forwardDifference } from 'gradstream/operators'
 *
 * perturb(forwardDifference({ h: 1e-7 }))
 * ```
 * @param h step, a positive finite number (default 1e-4)
 * @throws {RangeError} `forwardDifference: h: expected a positive finite number, got -1`
 * @see centralDifference
 */
export function forwardDifference(options: { readonly h?: number } = {}): PerturbationDesign {
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
