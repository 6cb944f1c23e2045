/** How to difference: the step and which side(s) of the point to probe. */
export interface DiffOptions {
  /** The step; default 1e-4, as the book. Must be positive and finite. */
  readonly h?: number
  /**
   * `'central'` (default): (f(x+h) − f(x−h)) / 2h, error O(h²); `'forward'`:
   * (f(x+h) − f(x)) / h and `'backward'`: (f(x) − f(x−h)) / h, error O(h).
   */
  readonly method?: DiffMethod
  /**
   * What a non-finite value of `f` (NaN, Infinity or −Infinity) does: `'throw'` (default) a
   * `RangeError` naming the function, the coordinate probed and the value
   * (`numericalGradient: f returned Infinity at W[1,2] + h`); `'propagate'` computes on with
   * IEEE arithmetic (∞ − ∞ = NaN, finite − ∞ = −∞, …) and returns what that gives.
   */
  readonly nonFinite?: NonFinite
}

/** What a differentiation function does when `f` returns NaN or ±Infinity (see `DiffOptions`). */
export type NonFinite = 'throw' | 'propagate'

/** Which side(s) of the point a finite difference probes (see `DiffOptions.method`). */
export type DiffMethod = 'central' | 'forward' | 'backward'
