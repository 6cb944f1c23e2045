import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { twoLayerNet, type Tensor } from 'gradstream'
import { loadMnist } from 'gradstream/node'
import { quotientTolerance, smallTwoLayerCase, type Kind } from '../helpers/smallTwoLayerNets.js'
import {
  twoLayerNetNumericalGradient,
  type TwoLayerNetWeights,
} from '../../src/nn/twoLayerNetNumericalGradient.js'

const h = 1e-4

/**
 * The book's probe loop, written anew: for each parameter, f at w + h and at w − h (stored as
 * the book stores them, then the whole forward pass), quotient (f₊ − f₋) / 2h. `f` is
 * twoLayerNet's own loss (tested against the book's numbers elsewhere).
 */
function naive(
  loss: (p: TwoLayerNetWeights) => number,
  p: TwoLayerNetWeights,
  pick: (name: keyof TwoLayerNetWeights, size: number) => number[],
): Map<string, number> {
  const out = new Map<string, number>()
  for (const name of ['W1', 'b1', 'W2', 'b2'] as const) {
    for (const k of pick(name, p[name].data.length)) {
      const data = p[name].data.slice()
      const w = data[k]
      const at = (v: number) => {
        data[k] = v
        return loss({ ...p, [name]: { shape: p[name].shape, data } })
      }
      out.set(`${name}[${k}]`, (at(w + h) - at(w - h)) / (2 * h))
    }
  }
  return out
}

const all = (_: string, size: number) => Array.from({ length: size }, (_, k) => k)

function check(
  p: TwoLayerNetWeights,
  x: Tensor,
  t: Tensor,
  kind: Kind,
  pick: (name: keyof TwoLayerNetWeights, size: number) => number[] = all,
) {
  const net = twoLayerNet({
    inputSize: p.W1.shape[0],
    hiddenSize: p.W1.shape[1],
    outputSize: p.W2.shape[1],
    loss: kind,
  })
  const loss = (q: TwoLayerNetWeights) => net.loss({ ...q }, x, t)
  const g = twoLayerNetNumericalGradient(p, x, t, { loss: kind })
  const tol = quotientTolerance(loss(p), net.logits({ ...p }, x))
  for (const [where, want] of naive(loss, p, pick)) {
    const [, name, k] = /^(\w+)\[(\d+)\]$/.exec(where)!
    const got = g[name as keyof TwoLayerNetWeights].data[Number(k)]
    if (!(Math.abs(got - want) <= tol)) {
      expect.fail(`${kind} ${where}: incremental ${got}, naive ${want}, tolerance ${tol}`)
    }
  }
  return g
}

/** Small nets: D, H, C ≤ 6, N ≤ 7, inputs ~60% zeros, one-hot, label or soft targets. */
const smallCase = smallTwoLayerCase({ D: 6, H: 5, C: 6, N: 7 })

describe('twoLayerNetNumericalGradient', () => {
  it('agrees with the naive probe loop on random small nets (every parameter)', () => {
    fc.assert(
      fc.property(smallCase, (c) => {
        check(c.params, c.x, c.t, c.kind)
      }),
      { numRuns: 60 },
    )
  })

  it('agrees with the naive loop on an MNIST batch of 100 (784–50–10, a sample of probes)', () => {
    const mnist = loadMnist({ oneHotLabel: true, trainSize: 100, testSize: 1 })
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 3 })
    // W1 rows of pixels that are non-zero somewhere in the batch and of blank ones, and all
    // of b1, W2, b2 through a stride (each naive probe is two full forward passes)
    const pick = (name: string, size: number) =>
      name === 'W1'
        ? [0, 1, 10_050, 15_000, 20_011, 20_012, 23_456, 30_000, 39_199]
        : Array.from({ length: Math.min(size, 12) }, (_, i) => Math.floor((i * size) / 12))
    for (const kind of ['crossEntropy', 'softmaxCrossEntropy'] as const) {
      const g = check(net.params, mnist.train.x, mnist.train.t, kind, pick)
      // a blank pixel (top-left corner) moves nothing: exactly 0, as the naive quotient
      expect(g.W1.data[0]).toBe(0)
    }
  })

  it('returns the shapes of the parameters and leaves them unchanged', () => {
    const net = twoLayerNet({ inputSize: 3, hiddenSize: 2, outputSize: 2, seed: 1 })
    const before = Object.values(net.params).map((t) => t.data.slice())
    const g = twoLayerNetNumericalGradient(
      net.params,
      { shape: [1, 3], data: new Float64Array([0.5, 0, 1]) },
      { shape: [1], data: new Float64Array([1]) },
    )
    expect([g.W1.shape, g.b1.shape, g.W2.shape, g.b2.shape]).toEqual([[3, 2], [2], [2, 2], [2]])
    expect(Object.values(net.params).map((t) => t.data)).toEqual(before)
  })

  it('names the function, field and shapes in its errors', () => {
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10 })
    const x = { shape: [100, 783], data: new Float64Array(100 * 783) }
    const t = { shape: [100], data: new Float64Array(100) }
    expect(() => twoLayerNetNumericalGradient(net.params, x, t)).toThrow(
      'twoLayerNetNumericalGradient: x: expected shape [N,784] to match W1 [784,50], got [100,783]',
    )
    const x2 = { shape: [100, 784], data: new Float64Array(100 * 784) }
    expect(() => twoLayerNetNumericalGradient(net.params, x2, t, { h: 0 })).toThrow(
      new RangeError('twoLayerNetNumericalGradient: h: expected a positive finite number, got 0'),
    )
    expect(() => twoLayerNetNumericalGradient({ ...net.params, b1: net.params.b2 }, x2, t)).toThrow(
      'twoLayerNetNumericalGradient: b1: expected shape [50], got [10]',
    )
  })
})
