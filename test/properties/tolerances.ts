/**
 * Error bounds for finite differences, from their Taylor expansions; the properties compare
 * against these, never against a number picked to pass.
 *
 * Central, (f(x+h) − f(x−h)) / 2h = f′ + h²·f‴(ξ)/6: truncation ≤ h²·M3/6 with M3 ≥ |f‴| near x.
 * Forward, (f(x+h) − f(x)) / h = f′ + h·f″(ξ)/2: truncation ≤ h·M2/2.
 * Rounding: f(x ± h) each carry an absolute error ≤ k·ε·F (k roundings in computing a value of
 * size ≤ F); the difference divided by 2h gives ≤ k·ε·F/h. The step x + h is itself rounded,
 * changing the effective h by ≤ ε·|x|, a relative error ε·|x|/h in the quotient.
 */
export const EPS = Number.EPSILON

/** Bound on |central difference − f′| for truncation constant M3 and rounding (k, F, |x|, |f′|). */
export function centralBound(o: {
  h: number
  M3: number
  F: number
  k: number
  x?: number
  df?: number
}): number {
  const { h, M3, F, k, x = 0, df = 0 } = o
  return (h * h * M3) / 6 + (k * EPS * F) / h + (2 * EPS * Math.abs(x) * Math.abs(df)) / h
}

/** Rounding only: for identities that hold exactly in exact arithmetic. */
export const roundingBound = (h: number, k: number, F: number): number => (k * EPS * F) / h
