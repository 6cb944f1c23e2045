import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { numericalGradient, softmax, softmaxCrossEntropy, type Tensor, tensor } from 'gradstream'
import { EPS } from './tolerances.js'

const h = 1e-4
const batch = fc
  .record({ n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 2, max: 6 }) })
  .chain(({ n, c }) =>
    fc.record({
      z: fc.array(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: c, maxLength: c }),
        {
          minLength: n,
          maxLength: n,
        },
      ),
      labels: fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }),
    }),
  )

describe('softmax cross-entropy', () => {
  it('∇_z = (softmax(z) − t) / N, and each row of it sums to zero', () => {
    fc.assert(
      fc.property(batch, ({ z, labels }) => {
        const n = z.length
        const c = z[0].length
        const g = numericalGradient((q: Tensor) => softmaxCrossEntropy(q, labels), tensor(z))
        const y = softmax(tensor(z)).data
        // Along one logit the loss is lse/N − z_t/N; ∂³lse/∂z_j³ = y(1−y)(1−2y) ≤ 1/(6√3), so
        // truncation ≤ h²/(6·6√3·N). Rounding: the loss (≤ ln c + 10) is computed with ~2c + 4
        // roundings on each side of the difference.
        const tol =
          (h * h) / (36 * Math.sqrt(3) * n) + (2 * (2 * c + 4) * EPS * (Math.log(c) + 10)) / (2 * h)
        for (let i = 0; i < n; i++) {
          let rowSum = 0
          for (let j = 0; j < c; j++) {
            const k = i * c + j
            const expected = (y[k] - (labels[i] === j ? 1 : 0)) / n
            expect(Math.abs(g.data[k] - expected)).toBeLessThanOrEqual(tol)
            rowSum += g.data[k]
          }
          expect(Math.abs(rowSum)).toBeLessThanOrEqual(c * tol)
        }
      }),
    )
  })
})
