import fc from 'fast-check'
import { of } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { tensor, type Tensor, type TrainState } from 'gradstream'
import { rng } from '../../../src/random/rng.js'
import {
  centralDifference,
  forwardDifference,
  gaussian,
  gradient,
  loss,
  perturb,
  spsa,
  type PerturbationDesign,
} from 'gradstream/operators'

/** f(x) = Σ aᵢxᵢ² + Σ bᵢxᵢ + c·x₀x₁ and its gradient, written anew. */
interface Quad {
  a: number[]
  b: number[]
  c: number
}
const f =
  ({ a, b, c }: Quad) =>
  (x: Tensor) => {
    const d = x.data
    let s = c * d[0] * (d.length > 1 ? d[1] : 0)
    for (let i = 0; i < d.length; i++) s += a[i] * d[i] * d[i] + b[i] * d[i]
    return s
  }
const grad = ({ a, b, c }: Quad, x: number[]) =>
  x.map(
    (xi, i) => 2 * a[i] * xi + b[i] + (i === 0 && x.length > 1 ? c * x[1] : i === 1 ? c * x[0] : 0),
  )

const state = (x: number[], seed: number): TrainState<Tensor> =>
  Object.freeze({
    step: 0,
    params: tensor(x),
    loss: NaN,
    grad: null,
    lr: NaN,
    opt: {},
    hyper: {},
    evaluations: 0,
    rng: rng(seed).state(), // as train({ seed }) starts its runs
    history: [],
    metrics: {},
  })

/** One pass through perturb → loss → gradient. */
function estimateAt(design: PerturbationDesign, q: Quad, x: number[], seed: number) {
  let out: { grad: Tensor; evaluations: number } | undefined
  of(state(x, seed))
    .pipe(perturb(design), loss(f(q)), gradient())
    .subscribe((s) => (out = s))
  return out!
}

const small = fc.double({ min: -2, max: 2, noNaN: true })
const problem = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc.record({
    q: fc.record({
      a: fc.array(small, { minLength: n, maxLength: n }),
      b: fc.array(small, { minLength: n, maxLength: n }),
      c: small,
    }),
    x: fc.array(small, { minLength: n, maxLength: n }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1000 }),
  }),
)

const M = 200 // seeds averaged per property run
const L = Math.log(2 / 1e-9) // each check fails by chance with probability ≤ 1e-9

describe('finite-difference designs', () => {
  it('central differences are exact on quadratics up to rounding; 2N + 1 evaluations', () => {
    fc.assert(
      fc.property(problem, ({ q, x }) => {
        const { grad: g, evaluations } = estimateAt(centralDifference(), q, x, 0)
        const want = grad(q, x)
        // truncation h²·f‴/6 = 0 for a quadratic; rounding ≈ 2ε·max|f|/(2h) with |f| ≤ 4·(2·4+2·2+4) = 64
        const atol = ((2 * 2.2e-16 * 64) / (2 * 1e-4)) * 4
        want.forEach((w, i) => expect(Math.abs(g.data[i] - w)).toBeLessThanOrEqual(atol))
        expect(evaluations).toBe(2 * x.length + 1)
      }),
    )
  })

  it('forward differences: error h·aᵢ (exactly, for a quadratic); N + 1 evaluations', () => {
    fc.assert(
      fc.property(problem, ({ q, x }) => {
        const h = 1e-4
        const { grad: g, evaluations } = estimateAt(forwardDifference({ h }), q, x, 0)
        // (f(x + h·eᵢ) − f(x))/h = gᵢ + h·aᵢ on this f
        const want = grad(q, x).map((w, i) => w + h * q.a[i])
        const atol = ((2 * 2.2e-16 * 64) / h) * 4
        want.forEach((w, i) => expect(Math.abs(g.data[i] - w)).toBeLessThanOrEqual(atol))
        expect(evaluations).toBe(x.length + 1)
      }),
    )
  })
})

describe('random designs are unbiased on quadratics (mean over M seeds within a Bernstein / normal bound)', () => {
  it('SPSA: ĝᵢ − gᵢ = Σⱼ≠ᵢ ΔᵢΔⱼgⱼ, bounded by B = Σⱼ≠ᵢ|gⱼ|, variance σ² = Σⱼ≠ᵢ gⱼ²', () => {
    fc.assert(
      fc.property(problem, ({ q, x, seed }) => {
        const g = grad(q, x)
        const mean = new Array(x.length).fill(0)
        for (let k = 0; k < M; k++) {
          const e = estimateAt(spsa({ c: 1e-3 }), q, x, seed + k)
          expect(e.evaluations).toBe(3)
          e.grad.data.forEach((v, i) => (mean[i] += v / M))
        }
        g.forEach((gi, i) => {
          const B = g.reduce((s, gj, j) => (j === i ? s : s + Math.abs(gj)), 0)
          const v = g.reduce((s, gj, j) => (j === i ? s : s + gj * gj), 0)
          // Bernstein: P(|mean − gᵢ| ≥ t) ≤ 2·exp(−M t² / (2σ² + 2Bt/3)); solve for t at δ
          const t = ((2 * B * L) / 3 + Math.sqrt(((2 * B * L) / 3) ** 2 + 8 * M * v * L)) / (2 * M)
          // rounding of each difference quotient: ≈ 2ε·|f|/(2c) ≤ 1e-10 here
          expect(Math.abs(mean[i] - gi)).toBeLessThanOrEqual(t + 1e-9)
        })
      }),
    )
  })

  it('Gaussian, antithetic: ĝ = u·uᵀg, variance |g|² + gᵢ²', () => {
    fc.assert(
      fc.property(problem, ({ q, x, seed }) => {
        const g = grad(q, x)
        const mean = new Array(x.length).fill(0)
        for (let k = 0; k < M; k++) {
          const e = estimateAt(gaussian({ sigma: 1e-2 }), q, x, seed + k)
          e.grad.data.forEach((v, i) => (mean[i] += v / M))
        }
        const g2 = g.reduce((s, v) => s + v * v, 0)
        g.forEach((gi, i) => {
          // ĝᵢ is a product of Gaussians (sub-exponential); with M = 200 its mean is close to
          // normal, and 6 standard errors leave a chance failure probability ≈ 2e-9
          const se = Math.sqrt((g2 + gi * gi) / M)
          expect(Math.abs(mean[i] - gi)).toBeLessThanOrEqual(6 * se + 1e-9)
        })
      }),
    )
  })

  it('Gaussian, one-sided: ĝ = u·(uᵀg + σ·q(u)), still unbiased (odd moments vanish)', () => {
    fc.assert(
      fc.property(problem, ({ q, x, seed }) => {
        const sigma = 0.1
        const n = x.length
        const g = grad(q, x)
        const mean = new Array(n).fill(0)
        for (let k = 0; k < M; k++) {
          const e = estimateAt(gaussian({ sigma, antithetic: false }), q, x, seed + k)
          expect(e.evaluations).toBe(2)
          e.grad.data.forEach((v, i) => (mean[i] += v / M))
        }
        const g2 = g.reduce((s, v) => s + v * v, 0)
        // |q(u)| ≤ K·|u|² with K = max|aⱼ| + |c|/2, and E[uᵢ²|u|⁴] = 15 + 9(n−1) + (n−1)(n−2)
        const K = Math.max(...q.a.map(Math.abs)) + Math.abs(q.c) / 2
        const m6 = 15 + 9 * (n - 1) + (n - 1) * (n - 2)
        g.forEach((gi, i) => {
          const variance = g2 + gi * gi + sigma * sigma * K * K * m6
          expect(Math.abs(mean[i] - gi)).toBeLessThanOrEqual(6 * Math.sqrt(variance / M) + 1e-9)
        })
      }),
    )
  })
})

describe('designs validate their options', () => {
  it.each([
    [
      () => centralDifference({ h: 0 }),
      'centralDifference: h: expected a positive finite number, got 0',
    ],
    [
      () => forwardDifference({ h: -1 }),
      'forwardDifference: h: expected a positive finite number, got -1',
    ],
    [() => spsa({ c: 0 }), 'spsa: c: expected a positive finite number, got 0'],
    [() => gaussian({ sigma: 0 }), 'gaussian: sigma: expected a positive finite number, got 0'],
  ])('%#', (make, message) => {
    expect(make).toThrow(new RangeError(message))
  })

  it('perturb rejects a non-design', () => {
    expect(() => perturb(undefined as never)).toThrow(
      new TypeError(
        'perturb: design: expected a perturbation design such as centralDifference(), got undefined',
      ),
    )
  })
})
