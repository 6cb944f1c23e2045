import { expectPositive, show } from '../../src/errors.js'
import type { PerturbationDesign, ProbeResult } from './perturbationInternals.js'

/**
 * The book's numerical gradient: for every coordinate i, probe x + h·eᵢ and x − h·eᵢ (2N
 * probes, evaluated on a scratch copy in the book's order), and estimate
 * gᵢ = (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h). Truncation error O(h²·|f‴|), rounding
 * O(ε·|f|/h); h = 1e-4 is the book's choice. Draws no randomness.
 *
 * @example
 * ```ts
 * import { perturb, centralDifference } from 'gradstream/operators'
 *
 * perturb(centralDifference()) // h = 1e-4, as numerical_gradient
 * perturb(centralDifference({ h: 1e-5 }))
 * ```
 * @param h step, a positive finite number (default 1e-4)
 * @throws {RangeError} `centralDifference: h: expected a positive finite number, got 0`
 * @see forwardDifference, spsa, gaussian
 */
export function centralDifference({ h = 1e-4 }: { readonly h?: number } = {}): PerturbationDesign {
  checkOptions('centralDifference', { h })
  expectPositive('centralDifference', 'h', h)
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

export function checkOptions(fn: string, opts: unknown): void {
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(`${fn}: options: expected an object, got ${show(opts)}`)
  }
}
