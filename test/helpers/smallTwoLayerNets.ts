import fc from 'fast-check'
import type { Tensor } from 'gradstream'

// Random small TwoLayerNets for the numerical-gradient tests (test/nn, test/parallel): weights,
// a batch with ~60% zero inputs (as images are mostly zero), and targets as one-hot rows,
// labels or soft rows.

export type Kind = 'crossEntropy' | 'softmaxCrossEntropy'

export interface SmallTwoLayerCase {
  readonly params: { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor }
  readonly x: Tensor
  readonly t: Tensor
  /** the targets as labels, whatever form `t` takes */
  readonly labels: number[]
  readonly kind: Kind
}

const finite = (lo: number, hi: number) => fc.double({ min: lo, max: hi, noNaN: true })
const array = (len: number, v: fc.Arbitrary<number>) =>
  fc.array(v, { minLength: len, maxLength: len }).map((a) => Float64Array.from(a))

/**
 * Nets of D inputs, H hidden units, C classes and a batch of N, each at most the `max` given;
 * `targets` lists the target forms to draw from.
 */
export function smallTwoLayerCase(
  max: { D: number; H: number; C: number; N: number },
  targets: readonly ('oneHot' | 'labels' | 'soft')[] = ['oneHot', 'labels', 'soft'],
): fc.Arbitrary<SmallTwoLayerCase> {
  return fc
    .record({
      D: fc.integer({ min: 1, max: max.D }),
      H: fc.integer({ min: 1, max: max.H }),
      C: fc.integer({ min: 2, max: max.C }),
      N: fc.integer({ min: 1, max: max.N }),
      targets: fc.constantFrom(...targets),
      kind: fc.constantFrom<Kind>('crossEntropy', 'softmaxCrossEntropy'),
    })
    .chain((d) =>
      fc.record({
        d: fc.constant(d),
        W1: array(d.D * d.H, finite(-2, 2)),
        b1: array(d.H, finite(-1, 1)),
        W2: array(d.H * d.C, finite(-2, 2)),
        b2: array(d.C, finite(-1, 1)),
        x: array(
          d.N * d.D,
          fc.oneof(
            { arbitrary: fc.constant(0), weight: 3 },
            { arbitrary: finite(0, 1), weight: 2 },
          ),
        ),
        labels: fc.array(fc.nat({ max: d.C - 1 }), { minLength: d.N, maxLength: d.N }),
        soft: array(d.N * d.C, finite(0, 1)),
      }),
    )
    .map(({ d, W1, b1, W2, b2, x, labels, soft }) => {
      const oneHot = new Float64Array(d.N * d.C)
      labels.forEach((c, s) => (oneHot[s * d.C + c] = 1))
      const t: Tensor =
        d.targets === 'labels'
          ? { shape: [d.N], data: Float64Array.from(labels) }
          : { shape: [d.N, d.C], data: d.targets === 'soft' ? soft : oneHot }
      return {
        params: {
          W1: { shape: [d.D, d.H], data: W1 },
          b1: { shape: [d.H], data: b1 },
          W2: { shape: [d.H, d.C], data: W2 },
          b2: { shape: [d.C], data: b2 },
        },
        x: { shape: [d.N, d.D], data: x },
        t,
        labels,
        kind: d.kind,
      }
    })
}

const EPS = 2 ** -52
const h = 1e-4

/**
 * How far a central difference (h = 1e-4) of a small TwoLayerNet's loss may be from another
 * evaluation of the same quotient — both form (f₊ − f₋)/2h from the same perturbed values, so
 * they differ by rounding only. Each f± carries an absolute rounding error of a few ε times the
 * magnitudes it is built from: the row losses (|f|) and the logits that log-sum-exp subtracts
 * (|a2|, at most max|a2|); summing N rows adds log₂N·ε·|f|. So |f₊ − f₋|'s error is below
 * c·ε·(|f| + max|a2|) with c ≈ 2·(C + log₂N + 5) ≤ 32 for C ≤ 6, N ≤ 7, and the quotient's below
 * 32·ε·(|f| + max|a2|)/(2h). An incremental evaluation's own rounding is of the same order or
 * smaller (it never forms f±), so the bound is 32·ε·(|f| + max|a2|)/h.
 */
export function quotientTolerance(f: number, logits: Tensor): number {
  let amax = 0
  for (const v of logits.data) amax = Math.max(amax, Math.abs(v))
  return (32 * EPS * (Math.abs(f) + amax)) / h
}
