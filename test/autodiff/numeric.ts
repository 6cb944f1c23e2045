import { expectClose } from '../helpers/expectClose.js'

/**
 * ∂f/∂pᵢ for every i by central differences refined once by Richardson extrapolation, written
 * here independently of the code under test: D(h) = (f(p + h eᵢ) − f(p − h eᵢ)) / 2h has error
 * h²f‴/6 + O(h⁴); R = (4 D(h/2) − D(h)) / 3 cancels the h² term, leaving ~h⁴ f⁽⁵⁾/480.
 */
export function richardsonGradient(
  f: (p: Float64Array) => number,
  p: Float64Array,
  h = 1e-3,
): Float64Array {
  const g = new Float64Array(p.length)
  const q = p.slice()
  const D = (i: number, s: number) => {
    q[i] = p[i] + s
    const up = f(q)
    q[i] = p[i] - s
    const down = f(q)
    q[i] = p[i]
    return (up - down) / (2 * s)
  }
  for (let i = 0; i < p.length; i++) g[i] = (4 * D(i, h / 2) - D(i, h)) / 3
  return g
}

/**
 * The gradient check: backprop `b` against the numerical `n`, coordinate by coordinate, passing
 * iff |b − n| ≤ 1e-6·max(|b|, |n|) + 1e-10·(1 + |f|), i.e. a relative error below 1e-6 wherever
 * the gradient is larger than ~1e-4·(1 + |f|).
 *
 * Why these numbers (h = 1e-3): the numerical estimate's truncation error ~h⁴|f⁽⁵⁾|/480 is
 * ≲ 1e-13 for the O(1)–O(10) derivatives of these small nets; its rounding error is about
 * 3·ε·|f|/h, and f itself, a sum of a few hundred floating-point terms, is accurate to some
 * 100 ε|f|, giving ≲ 100·2.2e-16·|f|·3/1e-3 ≈ 7e-11·|f| — hence the absolute 1e-10·(1 + |f|). A
 * relative error is meaningless for a gradient that is zero (as a relu-dead unit's is), and
 * there the absolute part decides.
 */
export function expectGradientsAgree(
  backprop: ArrayLike<number>,
  numerical: ArrayLike<number>,
  f: number,
  where: (i: number) => string,
): number {
  let worst = 0
  for (let i = 0; i < numerical.length; i++) {
    const b = backprop[i]
    const n = numerical[i]
    const scale = Math.max(Math.abs(b), Math.abs(n))
    const atol = 1e-10 * (1 + Math.abs(f))
    if (scale > 1e-4 * (1 + Math.abs(f))) worst = Math.max(worst, Math.abs(b - n) / scale)
    expectClose(b, n, { atol: atol + 1e-6 * scale, rtol: 0 }, where(i))
  }
  return worst
}
