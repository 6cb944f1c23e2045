import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ad } from '../../src/autodiff/ad.js'
import { mlp, type Activation, type MlpParams } from '../../src/nn/mlp.js'
import { rng } from '../../src/random/rng.js'
import type { Tensor } from '../../src/tensor/tensor.js'
import { setKernelBackend } from '../../src/tensor/kernels/setKernelBackend.js'
import { residentStats } from '../../src/tensor/kernels/wasmKernels.js'
import { thrown } from '../helpers/thrown.js'

// `logits` runs a data set's rows in blocks, on buffers reused from block to block; a row's
// logits depend on that row alone, so they must be, bit for bit, those of one pass of the ops
// over all rows (the affine layers chained by hand here, as `logits` ran before).

/** One pass over all rows: act(x·W + b) layer by layer, identity on the last. */
function wholePass(p: MlpParams, x: Tensor, layers: number, act: Activation): Tensor {
  let h: Tensor = x
  for (let l = 1; l <= layers; l++) {
    h = ad.affine(h, p[`W${l}`], p[`b${l}`], l < layers ? act : 'identity').value
  }
  return h
}

/** m×k rows, about `zeros` of them 0 (MNIST-like sparsity takes the sparse kernels). */
function rows(m: number, k: number, zeros: number, seed: number): Tensor {
  const r = rng(seed)
  const data = new Float64Array(m * k)
  for (let i = 0; i < data.length; i++) data[i] = r.uniform() < zeros ? 0 : r.uniform() * 2 - 1
  return { shape: [m, k], data }
}

const sameBits = (a: Float64Array, b: Float64Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

describe('mlp logits on many rows', () => {
  it('equal one pass over all rows, bit for bit (sizes, activations, sparse or dense rows)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1100 }),
        fc.constantFrom<Activation>('relu', 'sigmoid', 'tanh'),
        fc.constantFrom(0, 0.8),
        fc.integer({ min: 0, max: 1e6 }),
        (m, activation, zeros, seed) => {
          const net = mlp({ sizes: [40, 24, 16, 3], activation, seed })
          const x = rows(m, 40, zeros, seed + 1)
          const y = net.logits(net.params, x)
          expect(y.shape).toEqual([m, 3])
          expect(sameBits(y.data, wholePass(net.params, x, 3, activation).data)).toBe(true)
        },
      ),
      { numRuns: 12 },
    )
  })

  it('on an MNIST-sized first layer, predict and loss too', () => {
    const net = mlp({ sizes: [784, 64, 10], seed: 3 })
    const x = rows(700, 784, 0.8, 4)
    const whole = wholePass(net.params, x, 2, 'relu')
    expect(sameBits(net.logits(net.params, x).data, whole.data)).toBe(true)
    // twice: the second call runs on the buffers the first left (the kernels' arena)
    expect(sameBits(net.logits(net.params, x).data, whole.data)).toBe(true)
    const t: Tensor = { shape: [700], data: Float64Array.from({ length: 700 }, (_, i) => i % 10) }
    expect(net.loss(net.params, x, t)).toBe(ad.softmaxCrossEntropy(whole, t).value.data[0])
  })

  it('places W1 into wasm memory once for all blocks, then lays out from the start again', () => {
    setKernelBackend('wasm')
    try {
      const net = mlp({ sizes: [784, 64, 10], seed: 5 })
      const x = rows(700, 784, 0.8, 6) // 3 blocks, each held sparse
      const t: Tensor = { shape: [128], data: Float64Array.from({ length: 128 }, (_, i) => i % 10) }
      const batch = { shape: [128, 784], data: x.data.slice(0, 128 * 784) }
      const before = net.lossAndGradient(net.params, batch, t)
      const uses = residentStats.uses
      const y = net.logits(net.params, x)
      // every block's x·W1 read the one placement
      expect(residentStats.uses - uses).toBe(3)
      expect(sameBits(y.data, wholePass(net.params, x, 2, 'relu').data)).toBe(true)
      // a differentiated step after it: its tape's arena from the bottom again, the same bits
      const after = net.lossAndGradient(net.params, batch, t)
      expect(Object.is(after.loss, before.loss)).toBe(true)
      for (const key of Object.keys(before.grad))
        expect(sameBits(after.grad[key].data, before.grad[key].data)).toBe(true)
      expect(sameBits(net.logits(net.params, x).data, y.data)).toBe(true)
    } finally {
      setKernelBackend('auto')
    }
  })

  it('keeps each result: a later call does not change an earlier one', () => {
    const net = mlp({ sizes: [30, 8, 2], seed: 1 })
    const a = rows(600, 30, 0.5, 7)
    const first = net.logits(net.params, a)
    const copy = first.data.slice()
    net.logits(net.params, rows(600, 30, 0.5, 8))
    expect(sameBits(first.data, copy)).toBe(true)
    expect(a.data.buffer).not.toBe(first.data.buffer)
  })

  it('propagates a NaN weight as the whole pass does', () => {
    const net = mlp({ sizes: [20, 8, 2], seed: 2 })
    const W1 = { shape: net.params.W1.shape, data: net.params.W1.data.slice() }
    W1.data[5] = NaN
    const p = { ...net.params, W1 }
    const x = rows(520, 20, 0.8, 9)
    expect(sameBits(net.logits(p, x).data, wholePass(p, x, 2, 'relu').data)).toBe(true)
  })

  it('reports a shape error with the whole batch’s shape', () => {
    const net = mlp({ sizes: [20, 8, 2], seed: 2 })
    const x = rows(600, 21, 0, 1)
    expect(thrown(() => net.logits(net.params, x))).toBe(
      'ShapeError: ad.affine: shapes [600,21], [20,8] and [8] do not align (x [m,k], W [k,n], b [n])',
    )
  })
})
