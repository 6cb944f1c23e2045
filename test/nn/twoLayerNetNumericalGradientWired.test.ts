import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  numericalGradient,
  tensor,
  twoLayerNet,
  twoLayerNetNumericalGradient,
  type Tensor,
  type TwoLayerParams,
} from 'gradstream'

// twoLayerNet(...).numericalGradient runs the incremental probes (twoLayerNetNumericalGradient)
// where they apply and the plain probe loop (numericalGradient of net.loss, the book's loop)
// otherwise.

const EPS = 2 ** -52
const h = 1e-4
type Kind = 'crossEntropy' | 'softmaxCrossEntropy'

/**
 * Both sides form the same difference quotient from the same perturbed values, so they differ
 * by rounding only: each f± is off by a few ε times the magnitudes it is built from — the row
 * losses (|f|) and the logits log-sum-exp subtracts (≤ max|a2|) — plus log₂N·ε·|f| from the
 * row sum; with C ≤ 4, N ≤ 5 that is below 16·ε·(|f| + max|a2|) per f±, twice that for f₊ − f₋,
 * and the quotient divides by 2h: 16·ε·(|f| + max|a2|)/h. The bound used, 32·ε·(|f| + max|a2|)/h,
 * is the one test/nn/twoLayerNetNumericalGradient.test.ts derives for the incremental probes.
 */
function tolerance(f: number, logits: Tensor): number {
  let amax = 0
  for (const v of logits.data) amax = Math.max(amax, Math.abs(v))
  return (32 * EPS * (Math.abs(f) + amax)) / h
}

const finite = (lo: number, hi: number) => fc.double({ min: lo, max: hi, noNaN: true })
const array = (len: number, v: fc.Arbitrary<number>) =>
  fc.array(v, { minLength: len, maxLength: len }).map((a) => Float64Array.from(a))

const smallNet = fc
  .record({
    D: fc.integer({ min: 1, max: 5 }),
    H: fc.integer({ min: 1, max: 4 }),
    C: fc.integer({ min: 2, max: 4 }),
    N: fc.integer({ min: 1, max: 5 }),
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
        fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: finite(0, 1), weight: 2 }),
      ),
      labels: fc.array(fc.nat({ max: d.C - 1 }), { minLength: d.N, maxLength: d.N }),
    }),
  )

const flatOf = (g: TwoLayerParams) => [...g.W1.data, ...g.b1.data, ...g.W2.data, ...g.b2.data]

describe('twoLayerNet(...).numericalGradient', () => {
  it('is the incremental gradient, within rounding of the book’s probe loop', () => {
    fc.assert(
      fc.property(smallNet, ({ d, W1, b1, W2, b2, x, labels }) => {
        const net = twoLayerNet({ inputSize: d.D, hiddenSize: d.H, outputSize: d.C, loss: d.kind })
        const p: TwoLayerParams = {
          W1: { shape: [d.D, d.H], data: W1 },
          b1: { shape: [d.H], data: b1 },
          W2: { shape: [d.H, d.C], data: W2 },
          b2: { shape: [d.C], data: b2 },
        }
        const xt: Tensor = { shape: [d.N, d.D], data: x }
        const g = net.numericalGradient(p, xt, labels)
        expect(Object.keys(g).sort()).toEqual(['W1', 'W2', 'b1', 'b2'])
        const inc = twoLayerNetNumericalGradient(p, xt, labels, { loss: d.kind })
        const got = flatOf(g)
        flatOf(inc).forEach((v, i) => expect(Object.is(got[i], v)).toBe(true))
        const book = flatOf(numericalGradient((q: TwoLayerParams) => net.loss(q, xt, labels), p))
        const tol = tolerance(net.loss(p, xt, labels), net.logits(p, xt))
        book.forEach((v, i) => {
          if (!(Math.abs(got[i] - v) <= tol)) expect.fail(`[${i}]: ${got[i]} vs book ${v}, ${tol}`)
        })
      }),
      { numRuns: 40 },
    )
  })

  const net = twoLayerNet({ inputSize: 3, hiddenSize: 2, outputSize: 2, seed: 3 })
  const x = tensor([
    [0.5, 0, 1],
    [0, 0.3, 0.2],
  ])
  const t = [1, 0]
  const loss = (q: TwoLayerParams) => net.loss(q, x, t)

  it('runs the plain probe loop for one-sided differences and extra parameters', () => {
    const fwd = net.numericalGradient(net.params, x, t, { method: 'forward' })
    expect(flatOf(fwd)).toEqual(flatOf(numericalGradient(loss, net.params, { method: 'forward' })))
    const extra = { ...net.params, s: tensor([2]) }
    const g = net.numericalGradient(extra, x, t)
    expect(Object.keys(g).sort()).toEqual(['W1', 'W2', 'b1', 'b2', 's'])
    expect([...flatOf(g), ...g.s.data]).toEqual([
      ...flatOf(numericalGradient(loss, extra)),
      ...numericalGradient(loss, extra).s.data,
    ])
  })

  it('words errors as the probe loop does', () => {
    const W1 = { shape: [3, 2], data: Float64Array.of(0, NaN, 0, 0, 0, 0) }
    expect(() => net.numericalGradient({ ...net.params, W1 }, x, t)).toThrow(
      new RangeError('numericalGradient: p.W1[0,1]: expected a finite number, got NaN'),
    )
    let viaLoss: unknown
    try {
      loss({ ...net.params, W1: { shape: [2, 2], data: new Float64Array(4) } })
    } catch (e) {
      viaLoss = e
    }
    expect(viaLoss).toBeInstanceOf(Error)
    expect(() =>
      net.numericalGradient(
        { ...net.params, W1: { shape: [2, 2], data: new Float64Array(4) } },
        x,
        t,
      ),
    ).toThrow(viaLoss as Error)
  })
})
