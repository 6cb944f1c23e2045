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
import { quotientTolerance, smallTwoLayerCase } from '../helpers/smallTwoLayerNets.js'

// twoLayerNet(...).numericalGradient runs the incremental probes (twoLayerNetNumericalGradient)
// where they apply and the plain probe loop (numericalGradient of net.loss, the book's loop)
// otherwise.

/** Small nets (D ≤ 5, H ≤ 4, C ≤ 4, N ≤ 5), label targets. */
const smallNet = smallTwoLayerCase({ D: 5, H: 4, C: 4, N: 5 }, ['labels'])

const flatOf = (g: TwoLayerParams) => [...g.W1.data, ...g.b1.data, ...g.W2.data, ...g.b2.data]

describe('twoLayerNet(...).numericalGradient', () => {
  it('is the incremental gradient, within rounding of the book’s probe loop', () => {
    fc.assert(
      fc.property(smallNet, ({ params: p, x: xt, labels, kind }) => {
        const [D, H] = p.W1.shape
        const net = twoLayerNet({
          inputSize: D,
          hiddenSize: H,
          outputSize: p.W2.shape[1],
          loss: kind,
        })
        const g = net.numericalGradient(p, xt, labels)
        expect(Object.keys(g).sort()).toEqual(['W1', 'W2', 'b1', 'b2'])
        const inc = twoLayerNetNumericalGradient(p, xt, labels, { loss: kind })
        const got = flatOf(g)
        flatOf(inc).forEach((v, i) => expect(Object.is(got[i], v)).toBe(true))
        const book = flatOf(numericalGradient((q: TwoLayerParams) => net.loss(q, xt, labels), p))
        const tol = quotientTolerance(net.loss(p, xt, labels), net.logits(p, xt))
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
