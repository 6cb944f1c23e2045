import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { directionalDerivative, numericalGradient, tensor, type Tensor } from 'gradstream'
import { centralBound, EPS, roundingBound } from './tolerances.js'

const h = 1e-4
const coord = fc.double({ min: -3, max: 3, noNaN: true })
const vec = fc.array(coord, { minLength: 1, maxLength: 8 })
const scalar = fc.double({ min: -2, max: 2, noNaN: true })

const sumSq = (x: readonly number[]) => x.reduce((s, v) => s + v * v, 0)
const sumSin = (x: readonly number[]) => x.reduce((s, v) => s + Math.sin(v), 0)
const sumCos = (x: readonly number[]) => x.reduce((s, v) => s + Math.cos(v), 0)

describe('gradient identities (central differences, h = 1e-4)', () => {
  it('∇(x·x) = 2x, on arrays and tensors', () => {
    fc.assert(
      fc.property(vec, (x) => {
        const n = x.length
        // f‴ = 0: rounding only. f ≤ 9n, computed with n additions and n products.
        const tol = centralBound({ h, M3: 0, F: sumSq(x) + 1, k: 2 * n, x: 3, df: 6 })
        const g = numericalGradient(sumSq, x)
        x.forEach((xi, i) => expect(Math.abs(g[i] - 2 * xi)).toBeLessThanOrEqual(tol))
        const gt = numericalGradient((t: Tensor) => sumSq([...t.data]), tensor(x))
        x.forEach((xi, i) => expect(Math.abs(gt.data[i] - 2 * xi)).toBeLessThanOrEqual(tol))
      }),
    )
  })

  it('linearity: ∇(a·f + b·g) = a·∇f + b·∇g', () => {
    fc.assert(
      fc.property(vec, scalar, scalar, (x, a, b) => {
        const n = x.length
        const lhs = numericalGradient((q: readonly number[]) => a * sumSin(q) + b * sumCos(q), x)
        const gf = numericalGradient(sumSin, x)
        const gg = numericalGradient(sumCos, x)
        // The difference operator is linear, so this holds exactly but for rounding: each side
        // evaluates values of size ≤ (|a| + |b|)·n with ~n + 3 roundings.
        const tol = roundingBound(h, 2 * (n + 3), (Math.abs(a) + Math.abs(b)) * n + 1)
        x.forEach((_, i) =>
          expect(Math.abs(lhs[i] - (a * gf[i] + b * gg[i]))).toBeLessThanOrEqual(tol),
        )
      }),
    )
  })

  it('product rule: ∇(f·g) = f·∇g + g·∇f', () => {
    fc.assert(
      fc.property(vec, (x) => {
        const n = x.length
        const lhs = numericalGradient((q: readonly number[]) => sumSin(q) * sumCos(q), x)
        const gf = numericalGradient(sumSin, x)
        const gg = numericalGradient(sumCos, x)
        const f = sumSin(x)
        const g = sumCos(x)
        // Expanding both sides: D(fg) − (f·Dg + g·Df) = h²/2·(f′g″ + f″g′) + O(h⁴), and
        // |f′g″ + f″g′| ≤ 2 per coordinate for sums of sin and cos. The products are ≤ n².
        const tol = (h * h * 2) / 2 + roundingBound(h, 4 * (n + 2), n * n + 1)
        x.forEach((_, i) =>
          expect(Math.abs(lhs[i] - (f * gg[i] + g * gf[i]))).toBeLessThanOrEqual(tol),
        )
      }),
    )
  })

  it('chain rule: ∇(tanh ∘ f) = tanh′(f)·∇f', () => {
    fc.assert(
      fc.property(vec, (x) => {
        const n = x.length
        const lhs = numericalGradient((q: readonly number[]) => Math.tanh(sumSin(q)), x)
        const gf = numericalGradient(sumSin, x)
        const t = Math.tanh(sumSin(x))
        // Truncation on the left: (tanh∘f)‴ = tanh‴·f′³ + 3·tanh″·f′·f″ + tanh′·f‴, at most
        // 2 + 3·0.77 + 1 per coordinate; on the right tanh′ ≤ 1 times |f‴| ≤ 1. Both /6·h².
        const tol = (h * h * (2 + 3 * 0.77 + 1 + 1)) / 6 + roundingBound(h, 2 * (n + 4), n + 1)
        x.forEach((_, i) => expect(Math.abs(lhs[i] - (1 - t * t) * gf[i])).toBeLessThanOrEqual(tol))
      }),
    )
  })

  it('directional derivative = ∇f·v, along a random direction (as JAX check_grads)', () => {
    const f = (q: readonly number[]) => sumSin(q) + (q.length > 1 ? q[0] * q[1] : 0)
    fc.assert(
      fc.property(
        vec.chain((x) =>
          fc.tuple(
            fc.constant(x),
            fc.array(
              scalar.map((v) => v / 2),
              { minLength: x.length, maxLength: x.length },
            ),
          ),
        ),
        ([x, v]) => {
          const n = x.length
          const dd = directionalDerivative(f, x, v)
          const g = numericalGradient(f, x)
          const dot = g.reduce((s, gi, i) => s + gi * v[i], 0)
          // Along v the third derivative is Σ −cos(xᵢ)·vᵢ³ (the x0·x1 term is quadratic); per
          // coordinate |∂ᵢ³f| ≤ 1, weighted by |vᵢ|. Values are ≤ n + 9.
          const v1 = v.reduce((s, vi) => s + Math.abs(vi), 0)
          const v3 = v.reduce((s, vi) => s + Math.abs(vi) ** 3, 0)
          const tol =
            (h * h * (v1 + v3)) / 6 + roundingBound(h, 2 * (n + 3), (n + 9) * (1 + v1)) + EPS * n
          expect(Math.abs(dd - dot)).toBeLessThanOrEqual(tol)
        },
      ),
    )
  })
})
