import { expect } from 'vitest'

export interface Tolerance {
  /** absolute part: |a − b| ≤ atol + rtol·|b| */
  readonly atol?: number
  /** relative part, against the expected value */
  readonly rtol?: number
}

/**
 * Passes iff `|actual − expected| ≤ atol + rtol·|expected|`; on failure the message says where,
 * both values, the difference and the tolerance. NaN equals only NaN.
 */
export function expectClose(
  actual: number,
  expected: number,
  { atol = 0, rtol = 0 }: Tolerance,
  where = '',
): void {
  if (Number.isNaN(expected) && Number.isNaN(actual)) return
  const diff = Math.abs(actual - expected)
  const tol = atol + rtol * Math.abs(expected)
  if (!(diff <= tol) && actual !== expected) {
    expect.fail(
      `${where ? where + ': ' : ''}expected ${actual} to be within ${tol} of ${expected} (|diff| = ${diff}, atol ${atol}, rtol ${rtol})`,
    )
  }
}

/** expectClose over two equal-length sequences, naming the index that fails. */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  where = '',
): void {
  expect(actual.length, `${where} length`).toBe(expected.length)
  for (let i = 0; i < expected.length; i++)
    expectClose(actual[i], expected[i], tol, `${where}[${i}]`)
}
