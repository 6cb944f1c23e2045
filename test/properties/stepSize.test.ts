import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { numericalDiff } from 'gradstream'
import { EPS } from './tolerances.js'

const x = fc.double({ min: -3, max: 3, noNaN: true })
const coef = fc.double({ min: -2, max: 2, noNaN: true })

describe('step size', () => {
  it('central differences are exact on quadratics up to rounding', () => {
    fc.assert(
      fc.property(coef, coef, coef, x, (a, b, c, x0) => {
        const f = (t: number) => a * t * t + b * t + c
        const df = 2 * a * x0 + b
        const d = numericalDiff(f, x0)
        // f‴ = 0. f(x ± h) carry ≤ 5 roundings of terms ≤ |a|x² + |b||x| + |c| each; the step
        // x ± h is rounded by ≤ ε|x|, a relative error ε|x|/h in the quotient. Subnormal
        // coefficients (fast-check generates them) add an absolute error ≤ MIN_VALUE per rounding.
        const F = Math.abs(a) * (x0 * x0 + 1) + Math.abs(b) * (Math.abs(x0) + 1) + Math.abs(c)
        const h = 1e-4
        const tol =
          (2 * 5 * EPS * F) / (2 * h) +
          (2 * EPS * Math.abs(x0) * Math.abs(df)) / h +
          EPS * Math.abs(df) +
          (10 * Number.MIN_VALUE) / h
        expect(Math.abs(d - df)).toBeLessThanOrEqual(tol)
      }),
    )
  })

  it('halving h divides the central error by ≈ 4 and the forward error by ≈ 2', () => {
    fc.assert(
      fc.property(x, (x0) => {
        // f = sin: f′ = cos, f″ = −sin, f‴ = −cos, f⁽⁵⁾ = −cos. Keep away from the zeros of
        // f″ and f‴, where the leading error term vanishes and the ratio is meaningless.
        const s = Math.abs(Math.sin(x0))
        const c = Math.abs(Math.cos(x0))
        fc.pre(s > 0.1 && c > 0.1)
        const h = 1e-2
        const err = (method: 'central' | 'forward', step: number) =>
          Math.abs(numericalDiff(Math.sin, x0, { h: step, method }) - Math.cos(x0))
        // central: e(h) = h²|f‴|/6·(1 + r), |r| ≤ h²·|f⁽⁵⁾|/(20|f‴|) ≤ h²/(20·0.1), so the ratio
        // e(h)/e(h/2) is 4·(1 ± 2·h²/2) ≈ 4 ± 4e-4; rounding ε/h² ≈ 2e-12 of e is negligible
        const rc = err('central', h) / err('central', h / 2)
        expect(Math.abs(rc - 4)).toBeLessThanOrEqual(4 * 2 * ((h * h) / (20 * 0.1)) + 1e-6)
        // forward: e(h) = h|f″|/2·(1 + r), |r| ≤ h·|f‴|/(3|f″|) ≤ h/(3·0.1); ratio 2·(1 ± 2r)
        const rf = err('forward', h) / err('forward', h / 2)
        expect(Math.abs(rf - 2)).toBeLessThanOrEqual(2 * 2 * (h / (3 * 0.1)))
      }),
    )
  })
})
