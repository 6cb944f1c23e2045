import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { tensor, twoLayerNet, twoLayerNetNumericalGradient, type Tensor } from 'gradstream'
import { closeWorkers, loadMnist, twoLayerNetNumericalGradientParallel } from 'gradstream/node'
import {
  planProbes,
  probeCount,
  runProbes,
} from '../../src/nn/twoLayerNetNumericalGradientInternals.js'
import { smallTwoLayerCase } from '../helpers/smallTwoLayerNets.js'

type Grad = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor }

afterAll(() => closeWorkers())

/** Every entry equal as stored (Object.is: −0 ≠ +0, NaN = NaN), shapes equal. */
function expectSameBits(got: Grad, want: Grad) {
  for (const k of ['W1', 'b1', 'W2', 'b2'] as const) {
    expect(got[k].shape).toEqual(want[k].shape)
    expect(got[k].data.length).toBe(want[k].data.length)
    for (let i = 0; i < want[k].data.length; i++) {
      if (!Object.is(got[k].data[i], want[k].data[i])) {
        expect.fail(`${k}[${i}]: parallel ${got[k].data[i]}, one thread ${want[k].data[i]}`)
      }
    }
  }
}

/** Small nets: D, H, C ≤ 6, N ≤ 7, inputs ~60% zeros, one-hot, label or soft targets. */
const smallCase = smallTwoLayerCase({ D: 6, H: 5, C: 6, N: 7 })

describe('runProbes (the split the workers use)', () => {
  it('any cut of the flat parameter range gives the full run bit for bit', () => {
    fc.assert(
      fc.property(smallCase, fc.array(fc.double({ min: 0, max: 1, noNaN: true })), (c, fr) => {
        const plan = planProbes('test', c.params, c.x, c.t, { loss: c.kind })
        const P = probeCount(plan)
        const whole = twoLayerNetNumericalGradient(c.params, c.x, c.t, { loss: c.kind })
        const cuts = [0, ...fr.map((f) => Math.floor(f * P)).sort((a, b) => a - b), P]
        // NaN-filled: a slice that left an entry of its range unwritten would show
        const out = {
          W1: new Float64Array(whole.W1.data.length).fill(NaN),
          b1: new Float64Array(whole.b1.data.length).fill(NaN),
          W2: new Float64Array(whole.W2.data.length).fill(NaN),
          b2: new Float64Array(whole.b2.data.length).fill(NaN),
        }
        for (let i = 1; i < cuts.length; i++) runProbes(plan, cuts[i - 1], cuts[i], out)
        expectSameBits(
          {
            W1: { shape: whole.W1.shape, data: out.W1 },
            b1: { shape: whole.b1.shape, data: out.b1 },
            W2: { shape: whole.W2.shape, data: out.W2 },
            b2: { shape: whole.b2.shape, data: out.b2 },
          },
          whole,
        )
      }),
    )
  })

  it('an empty range writes nothing', () => {
    const params = {
      W1: tensor([[0.1, -0.2]]),
      b1: tensor([0, 0]),
      W2: tensor([[0.3], [0.4]]),
      b2: tensor([0]),
    }
    const plan = planProbes('test', params, tensor([[1]]), tensor([0]), {})
    const out = {
      W1: new Float64Array(2).fill(7),
      b1: new Float64Array(2).fill(7),
      W2: new Float64Array(2).fill(7),
      b2: new Float64Array(1).fill(7),
    }
    for (const at of [0, 1, 2, 3, 5, 6]) runProbes(plan, at, at, out)
    expect([...out.W1, ...out.b1, ...out.W2, ...out.b2]).toEqual([7, 7, 7, 7, 7, 7, 7])
  })
})

describe('twoLayerNetNumericalGradientParallel', () => {
  it('doc example: equals the one-thread gradient bit for bit', async () => {
    const net = twoLayerNet({ inputSize: 3, hiddenSize: 2, outputSize: 2, seed: 1 })
    const x = tensor([
      [0.5, 0, 1],
      [0, 0, 0.2],
    ])
    const t = tensor([
      [1, 0],
      [0, 1],
    ])
    const g = await twoLayerNetNumericalGradientParallel(net.params, x, t, { threads: 2 })
    expectSameBits(g, twoLayerNetNumericalGradient(net.params, x, t))
    // pixel 1 is zero in both samples: its W1 row moves nothing (an exact 0, not a rounding)
    expect([g.W1.data[2], g.W1.data[3]]).toEqual([0, 0])
    // and a central difference written here agrees to rounding (ε·|f|/h ≈ 1e-11, bound 1e-9)
    const loss = (w: number) => {
      const W1 = { shape: [3, 2], data: net.params.W1.data.slice() }
      W1.data[0] = w
      return net.loss({ ...net.params, W1 }, x, t)
    }
    const w0 = net.params.W1.data[0]
    expect(Math.abs(g.W1.data[0] - (loss(w0 + 1e-4) - loss(w0 - 1e-4)) / 2e-4)).toBeLessThan(1e-9)
  })

  it('random small nets, targets and losses, 1–4 threads: the one-thread result bit for bit', async () => {
    await fc.assert(
      fc.asyncProperty(smallCase, fc.integer({ min: 1, max: 4 }), async (c, threads) => {
        const want = twoLayerNetNumericalGradient(c.params, c.x, c.t, { loss: c.kind })
        const got = await twoLayerNetNumericalGradientParallel(c.params, c.x, c.t, {
          loss: c.kind,
          threads,
        })
        expectSameBits(got, want)
      }),
      { numRuns: Math.min(50, fc.readConfigureGlobal().numRuns ?? 50) },
    )
  })

  it('an MNIST batch (784–50–10, 100 images), both losses, labels and one-hot', async () => {
    const mnist = loadMnist({ oneHotLabel: true, trainSize: 100, testSize: 1 })
    const labels = loadMnist({ oneHotLabel: false, trainSize: 100, testSize: 1 }).train.t
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 5 })
    for (const [loss, t, threads] of [
      ['crossEntropy', mnist.train.t, 2],
      ['softmaxCrossEntropy', labels, 3],
    ] as const) {
      const want = twoLayerNetNumericalGradient(net.params, mnist.train.x, t, { loss })
      const got = await twoLayerNetNumericalGradientParallel(net.params, mnist.train.x, t, {
        loss,
        threads,
      })
      expectSameBits(got, want)
    }
  })

  it('leaves its inputs unchanged and returns arrays of its own (not shared memory)', async () => {
    const net = twoLayerNet({ inputSize: 4, hiddenSize: 3, outputSize: 2, seed: 2 })
    const before = Object.values(net.params).map((p) => p.data.slice())
    const x = tensor([[0, 1, 0, 0.5]])
    const g = await twoLayerNetNumericalGradientParallel(net.params, x, tensor([1]))
    Object.values(net.params).forEach((p, i) => expect(p.data).toEqual(before[i]))
    expect(x.data).toEqual(Float64Array.from([0, 1, 0, 0.5]))
    for (const v of Object.values(g)) expect(v.data.buffer).toBeInstanceOf(ArrayBuffer)
  })

  it('starts again after closeWorkers', async () => {
    const net = twoLayerNet({ inputSize: 2, hiddenSize: 2, outputSize: 2, seed: 3 })
    const x = tensor([[1, 0.5]])
    const t = tensor([0])
    const a = await twoLayerNetNumericalGradientParallel(net.params, x, t, { threads: 2 })
    await closeWorkers()
    await closeWorkers() // twice is fine
    const b = await twoLayerNetNumericalGradientParallel(net.params, x, t, { threads: 2 })
    expectSameBits(b, a)
  })

  it('rejects bad arguments with messages in its own name', async () => {
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
    const x = { shape: [100, 783], data: new Float64Array(78300) }
    const t = { shape: [100], data: new Float64Array(100) }
    const fn = 'twoLayerNetNumericalGradientParallel'
    await expect(twoLayerNetNumericalGradientParallel(net.params, x, t)).rejects.toThrow(
      `${fn}: x: expected shape [N,784] to match W1 [784,50], got [100,783]`,
    )
    const x2 = { shape: [1, 784], data: new Float64Array(784) }
    const t2 = tensor([3])
    const bad = (threads: unknown) =>
      twoLayerNetNumericalGradientParallel(net.params, x2, t2, { threads: threads as number })
    await expect(bad(0)).rejects.toThrow(
      new RangeError(`${fn}: threads: expected an integer in [1, 256], got 0`),
    )
    await expect(bad(1.5)).rejects.toThrow(
      new RangeError(`${fn}: threads: expected an integer in [1, 256], got 1.5`),
    )
    await expect(bad('2')).rejects.toThrow(
      new TypeError(`${fn}: threads: expected an integer in [1, 256], got "2"`),
    )
    await expect(
      twoLayerNetNumericalGradientParallel(net.params, x2, t2, { h: 0 }),
    ).rejects.toThrow(new RangeError(`${fn}: h: expected a positive finite number, got 0`))
  })
})
