import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ad, setKernelThreads, valueAndGrad, type Tensor, type Var } from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { largeProducts } from '../../src/tensor/kernels/gemmKernel.js'
import { autoTuning } from '../../src/parallel/autoThreads.js'
import { tapeStats } from '../../src/parallel/tapeThreads.js'
import { helperRunning } from '../../src/parallel/sharedKernels.js'

// setKernelThreads('auto') for any differentiated step: a valueAndGrad call with large products
// runs under the step timer, which tries two threads (the products split with the helper) and
// keeps whichever measures faster. Both give the same bits, so the test checks the bits on every
// step of a run long enough to probe, and that two threads were really tried.

const defaults = { ...autoTuning }
afterEach(() => Object.assign(autoTuning, defaults))
afterAll(async () => {
  setKernelThreads('auto')
  await closeWorkers()
})

/** An LCG-filled [rows, cols] matrix with about `density` non-zeros (no Math.random). */
function matrix(rows: number, cols: number, density: number, seed: number): Tensor {
  let s = seed
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const data = Float64Array.from({ length: rows * cols }, () =>
    next() < density ? next() * 2 - 1 : 0,
  )
  return { shape: [rows, cols], data }
}

describe('the tape under the step timer', () => {
  it('probes two threads on a large layer and gives the one-thread bits on every step', () => {
    // MNIST's first layer at batch 128 (≈ 25·2²⁰ multiply-adds forward) and a hidden layer
    const x = matrix(128, 784, 0.2, 1)
    const p = {
      W1: matrix(784, 256, 1, 2),
      b1: matrix(1, 256, 1, 3),
      W2: matrix(256, 10, 1, 4),
    }
    const params = { ...p, b1: { shape: [256], data: p.b1.data } }
    const f = (q: { W1: Var; b1: Var; W2: Var }, t: Tensor) =>
      ad.softmaxCrossEntropy(ad.matmul(ad.affine(x, q.W1, q.b1, 'relu'), q.W2), t)
    const t = { shape: [128], data: Float64Array.from({ length: 128 }, (_, i) => i % 10) }
    setKernelThreads(1)
    const want = valueAndGrad(f)(params, t)
    // the timers read their tuning when setKernelThreads('auto') makes them
    Object.assign(autoTuning, { firstProbeAfter: 2, warmup: 1, probe: 2, second: 5, every: 5 })
    setKernelThreads('auto')
    const vg = valueAndGrad(f)
    let split = 0
    const run = largeProducts.run
    const twoThreadSteps = tapeStats.steps
    for (let step = 0; step < 12; step++) {
      const got = vg(params, t)
      expect(got.value).toBe(want.value)
      expect(got.grad.W1.data).toEqual(want.grad.W1.data)
      expect(got.grad.b1.data).toEqual(want.grad.b1.data)
      expect(got.grad.W2.data).toEqual(want.grad.W2.data)
      if (helperRunning()) split++
    }
    // the probe started the helper (where worker threads run); the products' hook is put back
    expect(split).toBeGreaterThan(0)
    expect(tapeStats.steps - twoThreadSteps).toBeGreaterThan(0) // steps really ran on two
    expect(largeProducts.run).toBe(run)
    expect(largeProducts.hold).toBeNull()
  })

  it('leaves small tapes on one thread (no helper started for them)', async () => {
    await closeWorkers() // a helper started by a probe above stays until closeWorkers
    Object.assign(autoTuning, { firstProbeAfter: 0, warmup: 0, probe: 1 })
    setKernelThreads('auto')
    const vg = valueAndGrad((q: { w: Var }) => ad.sum(ad.mul(q.w, q.w)))
    for (let i = 0; i < 5; i++) vg({ w: { shape: [3], data: Float64Array.of(1, 2, 3) } }, null)
    expect(helperRunning()).toBe(false)
  })
})
