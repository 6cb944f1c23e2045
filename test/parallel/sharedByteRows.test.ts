import { describe, expect, it } from 'vitest'
import { epochBatches, mlp, setKernelThreads } from 'gradstream'
import { rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { heldLeft } from '../../src/tensor/linalg.js'
import { afterHold, byteHolds } from '../../src/tensor/kernels/wasmKernels.js'
import { tapeStats, tapeTuning } from '../../src/parallel/tapeThreads.js'
import { splitTuning } from '../../src/parallel/sharedKernels.js'
import { byteImages, same } from '../helpers/sparseRows.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'

// A two-thread step (its arena in the memory shared with the helper) holds a batch of a data set
// kept as bytes (keepBytes: loadMnist's images) from those bytes, copied and compressed in the
// shared memory, its columns paired from its rows where the backward product reads them: the
// one-thread loss and gradients of the same batches drawn from the numbers, bit for bit.

restoreAfterEach(tapeTuning, splitTuning)
closeThreadsAfterAll()

describe('a data set kept as bytes on two threads', () => {
  it('gives one thread’s bits from the numbers, each batch held from its bytes in the shared memory', () => {
    const [rows, cols] = [640, 784]
    const { make, makeKept } = byteImages(rows, cols, 31)
    const kept = makeKept()
    // W5's layers: ∂W1 = xᵀ·δ1 is 256 wide, so it walks the column pairs
    const net = mlp({ sizes: [cols, 256, 10], seed: 0 })
    const run = (data: ReturnType<typeof make>) => {
      const out: { loss: number; grad: Record<string, Float64Array> }[] = []
      for (const b of epochBatches(data, { batchSize: 128, seed: 9 })) {
        const { loss, grad } = net.lossAndGradient(net.params, b.x, b.t)
        out.push({
          loss,
          grad: Object.fromEntries(Object.entries(grad).map(([k, g]) => [k, g.data])),
        })
        if (out.length === 7) break // an epoch of 5 batches, then two from the cache
      }
      return out
    }
    setKernelThreads(1)
    const want = run(make())
    setKernelThreads(2)
    tapeTuning.explicitMinWork = 0
    run(kept) // the helper starts; the first call plans the arena
    const before = { steps: tapeStats.steps, other: byteHolds.other }
    const got = run(kept)
    expect(tapeStats.steps - before.steps).toBe(7) // every call on the shared memory
    expect(byteHolds.other - before.other).toBe(5) // the first epoch's batches, from the bytes
    expect(afterHold.run).toBeNull() // each step's wake taken by its hold, or cleared at its end
    for (const [k, g] of got.entries()) {
      expect(Object.is(g.loss, want[k].loss)).toBe(true)
      for (const name of Object.keys(want[k].grad))
        expect(same(g.grad[name], want[k].grad[name])).toBe(true)
    }
  })

  it('runs afterHold (the step’s wake of its helper) once a batch is held, once', () => {
    setKernelThreads(1)
    const x = {
      shape: [40, 64],
      data: Float64Array.from({ length: 2560 }, (_, q) => (q % 5 === 0 ? q : 0)),
    }
    let runs = 0
    afterHold.run = () => void runs++
    const held = heldLeft(takeRows(x, [3, 1, 4], 0, 3, rowCache(x, true)))
    expect(runs).toBe(1)
    expect(afterHold.run).toBeNull()
    held.release()
    heldLeft({ shape: [20, 64], data: x.data.subarray(0, 1280) }).release()
    expect(runs).toBe(1)
    // a dense operand's hold (held or not) runs it too
    afterHold.run = () => void runs++
    heldLeft({ shape: [20, 64], data: x.data.subarray(0, 1280) }).release()
    expect(runs).toBe(2)
  })
})
