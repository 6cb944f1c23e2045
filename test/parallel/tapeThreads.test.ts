import { afterEach, describe, expect, it } from 'vitest'
import { ad, setKernelThreads, valueAndGrad, type Tensor, type Var } from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { largeProducts } from '../../src/tensor/kernels/gemmKernel.js'
import { gatheredFrom, RowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { autoTuning } from '../../src/parallel/autoThreads.js'
import { tapeStats } from '../../src/parallel/tapeThreads.js'
import {
  helperRunning,
  splitStats,
  startHelper,
  threadState,
} from '../../src/parallel/sharedKernels.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'

// setKernelThreads('auto') for any differentiated step: a valueAndGrad call with large products
// runs under the step timer, which tries two threads (the products split with the helper) and
// keeps whichever measures faster. Both give the same bits, so the test checks the bits on every
// step of a run long enough to probe, and that two threads were really tried.

restoreAfterEach(autoTuning)
afterEach(() => {
  threadState.requested = 'auto'
})
closeThreadsAfterAll()

/** An LCG-filled [rows, cols] matrix with about `density` non-zeros (no Math.random). */
function matrix(rows: number, cols: number, density: number, seed: number): Tensor {
  let s = seed
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const data = Float64Array.from({ length: rows * cols }, () =>
    next() < density ? next() * 2 - 1 : 0,
  )
  return { shape: [rows, cols], data }
}

/**
 * `got` holds `want`'s values bit for bit (Object.is: +0 and −0 differ). A loop, not toEqual:
 * toEqual on a 64k-entry typed array takes about half a second under load, each step.
 */
function sameBits(got: Float64Array, want: Float64Array): void {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`[${i}]: got ${got[i]}, expected ${want[i]}`)
  }
}

/**
 * A small first layer whose products still reach the tape's two-thread floor (2²² multiply-adds
 * in a call: x·W1 and xᵀ·δ1 are 2²² each, counted dense), on a sparse x held in the memory the
 * threads share, and a hidden layer too small to split: a step of about a millisecond.
 */
function smallNet() {
  const x = matrix(64, 256, 0.2, 1)
  const p = { W1: matrix(256, 256, 1, 2), b1: matrix(1, 256, 1, 3), W2: matrix(256, 10, 1, 4) }
  const params = { ...p, b1: { shape: [256], data: p.b1.data } }
  /** the buffers the hidden layer's values lay in, call by call */
  const hidden: ArrayBufferLike[] = []
  const f = (q: { W1: Var; b1: Var; W2: Var }, t: Tensor) => {
    const h = ad.affine(x, q.W1, q.b1, 'relu')
    hidden.push(h.value.data.buffer)
    return ad.softmaxCrossEntropy(ad.matmul(h, q.W2), t)
  }
  const t = { shape: [64], data: Float64Array.from({ length: 64 }, (_, i) => i % 10) }
  setKernelThreads(1)
  const want = valueAndGrad(f)(params, t)
  hidden.length = 0
  const expectWanted = (got: typeof want) => {
    expect(got.value).toBe(want.value)
    for (const name of ['W1', 'b1', 'W2'] as const)
      sameBits(got.grad[name].data, want.grad[name].data)
  }
  return { f, params, t, hidden, expectWanted }
}

describe('the tape under the step timer', () => {
  it('probes two threads on a large layer and gives the one-thread bits on every step', () => {
    const { f, params, t, expectWanted } = smallNet()
    // the timers read their tuning when setKernelThreads('auto') makes them
    Object.assign(autoTuning, {
      firstProbeAfter: 2,
      firstProbeMs: 0,
      warmup: 1,
      probe: 2,
      probeMs: 0,
      second: 5,
      every: 5,
    })
    setKernelThreads('auto')
    const vg = valueAndGrad(f)
    let split = 0
    const run = largeProducts.run
    const twoThreadSteps = tapeStats.steps
    for (let step = 0; step < 12; step++) {
      expectWanted(vg(params, t))
      if (helperRunning()) split++
    }
    // the probe started the helper (where worker threads run); the products' hook is put back
    expect(split).toBeGreaterThan(0)
    expect(tapeStats.steps - twoThreadSteps).toBeGreaterThan(0) // steps really ran on two
    expect(largeProducts.run).toBe(run)
    expect(largeProducts.hold).toBeNull()
  })

  it('a run shorter than `firstProbeMs` never probes nor starts the helper (W5’s epoch)', async () => {
    await closeWorkers() // a helper started by a probe above stays until closeWorkers
    const { f, params, t, expectWanted } = smallNet()
    // every knob as in the test above but the run's length: a dozen steps of about a
    // millisecond, far from the default 5 s (they would take 400 ms each to reach it)
    Object.assign(autoTuning, {
      firstProbeAfter: 2,
      spawnAhead: 1,
      warmup: 1,
      probe: 2,
      probeMs: 0,
    })
    setKernelThreads('auto')
    const vg = valueAndGrad(f)
    const twoThreadSteps = tapeStats.steps
    for (let step = 0; step < 12; step++) expectWanted(vg(params, t))
    expect(tapeStats.steps).toBe(twoThreadSteps)
    expect(helperRunning()).toBe(false)
  })

  it('a large step probes as soon as the helper it starts is ready, however short the run', async () => {
    await closeWorkers()
    const { f, params, t, expectWanted } = smallNet()
    // smallNet's step counted as large (W5's is): the default firstProbeMs (5 s) is not waited for
    Object.assign(autoTuning, {
      earlyProbeSize: 1,
      earlyFirstProbeAfter: 2,
      earlyWarmup: 1,
      earlyProbe: 2,
      earlyProbeMs: 0,
    })
    setKernelThreads('auto')
    const vg = valueAndGrad(f)
    const twoThreadSteps = tapeStats.steps
    expectWanted(vg(params, t))
    expect(helperRunning()).toBe(false) // the first step sizes the kernels' memory first
    expectWanted(vg(params, t)) // the helper starts here, without waiting
    if (!startHelper()) return // no worker threads here: nothing runs on two
    for (let step = 0; step < 10; step++) expectWanted(vg(params, t))
    expect(tapeStats.steps).toBeGreaterThan(twoThreadSteps)
  })

  it('runs a two-thread call on the shared memory, alternating with one thread', () => {
    const { f, params, t, hidden, expectWanted } = smallNet()
    // 'auto' with its helper running: each call below runs on the count the timer would ask for
    setKernelThreads('auto')
    if (!startHelper()) return // no worker threads here: nothing runs on two
    const vg = valueAndGrad(f)
    const steps = tapeStats.steps
    const products = splitStats.products
    const counts = [2, 2, 1, 2, 1, 1, 2] as const
    for (const c of counts) {
      threadState.requested = c // the arena moves with the count
      expectWanted(vg(params, t))
    }
    // the first call plans the arena (JavaScript buffers); later ones lay it out in the memory
    // the kernels run on: shared on two threads, the module's own on one
    expect(hidden.map((b) => b instanceof SharedArrayBuffer)).toEqual([
      false,
      ...counts.slice(1).map((c) => c === 2),
    ])
    expect(tapeStats.steps - steps).toBe(4)
    // x·W1 and xᵀ·δ1 split in each (the hidden layer's products are too small)
    expect(splitStats.products - products).toBe(4 * 2)
    expect(largeProducts.run).toBeNull()
    expect(largeProducts.hold).toBeNull()
  })

  it('holds an unread batch (epochBatches’ first draws) on two threads as on one, rows unread', () => {
    setKernelThreads('auto')
    if (!startHelper()) return // no worker threads here: nothing runs on two
    // 128 rows of 512, a quarter non-zero: x·W and xᵀ·δ count 2²² multiply-adds each
    const data = matrix(400, 512, 0.25, 7).data
    const cache = new RowCache(data, 400, 512, true)
    const p = { W: matrix(512, 256, 1, 8), b: { shape: [256], data: matrix(1, 256, 1, 9).data } }
    const f = (q: { W: Var; b: Var }, x: Tensor) => ad.sum(ad.affine(x, q.W, q.b, 'relu'))
    const vg = valueAndGrad(f)
    const steps = tapeStats.steps
    for (const [c, lo] of [
      [1, 0],
      [2, 128],
      [1, 256],
      [2, 10],
    ] as const) {
      const pick = Int32Array.from({ length: 128 }, (_, i) => (lo + i) % 400)
      const x = takeRows({ shape: [400, 512], data }, pick, 0, 128, cache)
      const unread = gatheredFrom(x)!.unread
      threadState.requested = c
      const got = vg(p, x)
      // either count compresses the rows from the data set in the module's own memory (two
      // threads then copy the entries into the memory they share): the rows stay unread; the
      // last batch's rows 10…127, drawn before, are found (on own memory on two threads too)
      expect(gatheredFrom(x)!.unread).toBe(unread)
      expect(unread).toBe(lo !== 10)
      threadState.requested = 1
      const plain = Float64Array.from({ length: 128 * 512 }, (_, q) => {
        return data[pick[Math.floor(q / 512)] * 512 + (q % 512)]
      })
      const want = vg(p, { shape: [128, 512], data: plain })
      expect(got.value).toBe(want.value)
      sameBits(got.grad.W.data, want.grad.W.data)
      sameBits(got.grad.b.data, want.grad.b.data)
    }
    expect(tapeStats.steps - steps).toBe(2)
  })

  it('setKernelThreads(2): a tape known to be small runs here alone, products not split', () => {
    setKernelThreads(2)
    // 64×64·64×16 and its transposes: far below TAPE_MIN_WORK
    const x = matrix(64, 64, 1, 11)
    const f = (q: { W: Var }, _: null) => ad.sum(ad.mul(ad.matmul(x, q.W), ad.matmul(x, q.W)))
    const p = { W: matrix(64, 16, 1, 12) }
    const vg = valueAndGrad(f)
    const steps = tapeStats.steps
    const products = splitStats.products
    const got = [vg(p, null), vg(p, null), vg(p, null)]
    // the first call's work is not known yet: it runs on the shared memory (where there is a
    // helper); the next two know theirs and stay here
    expect(tapeStats.steps - steps).toBe(threadState.available ? 1 : 0)
    expect(splitStats.products).toBe(products)
    setKernelThreads(1)
    const want = valueAndGrad(f)(p, null)
    for (const g of got) {
      expect(g.value).toBe(want.value)
      sameBits(g.grad.W.data, want.grad.W.data)
    }
  })

  it('leaves small tapes on one thread (no helper started for them)', async () => {
    await closeWorkers() // a helper started by a probe above stays until closeWorkers
    Object.assign(autoTuning, { firstProbeAfter: 0, firstProbeMs: 0, warmup: 0, probe: 1 })
    setKernelThreads('auto')
    const vg = valueAndGrad((q: { w: Var }) => ad.sum(ad.mul(q.w, q.w)))
    for (let i = 0; i < 5; i++) vg({ w: { shape: [3], data: Float64Array.of(1, 2, 3) } }, null)
    expect(helperRunning()).toBe(false)
  })
})
