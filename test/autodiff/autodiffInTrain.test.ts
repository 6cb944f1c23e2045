import { pipe, toArray as collect } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { gradient } from '../../operators/gradient.js'
import { sgd } from '../../operators/optimizers/sgd.js'
import { maxSteps } from '../../operators/stopping/maxSteps.js'
import { ad } from '../../src/autodiff/ad.js'
import { autodiff } from '../../src/autodiff/autodiff.js'
import type { Var } from '../../src/autodiff/tape.js'
import { valueAndGrad } from '../../src/autodiff/valueAndGrad.js'
import type { Batch } from '../../src/data/batches.js'
import { epochBatches } from '../../src/data/epochBatches.js'
import type { TrainState } from '../../src/state/types.js'
import type { Tensor } from '../../src/tensor/tensor.js'
import { train } from '../../src/train.js'

const T = (shape: number[], data: number[]): Tensor => ({ shape, data: Float64Array.from(data) })

// softmax regression on 3 separable clusters in 2-D
const x = T([6, 2], [2, 0, 2.2, 0.1, 0, 2, 0.1, 2.1, -2, -2, -2.1, -1.9])
const t = T([6], [0, 0, 1, 1, 2, 2])
const loss = (p: { W: Var; b: Var }, batch: { x: Tensor; t: Tensor }) =>
  ad.softmaxCrossEntropy(ad.add(ad.matmul(batch.x, p.W), p.b), batch.t)

describe('gradient(autodiff(f)) in the training loop', () => {
  it('trains on batches from a sampler: the first update is −lr·∇f, the loss falls', () => {
    const params = { W: T([2, 3], [0, 0, 0, 0, 0, 0]), b: T([3], [0, 0, 0]) }
    const data = epochBatches({ x, t }, { batchSize: 6, seed: 1 })
    let states: TrainState<typeof params>[] = []
    train({
      params,
      data: { [Symbol.iterator]: () => data[Symbol.iterator]() },
      step: pipe(
        gradient<typeof params, Batch>(autodiff((p: { W: Var; b: Var }, b: Batch) => loss(p, b))),
        sgd(0.5),
      ),
    })
      .pipe(maxSteps(50), collect())
      .subscribe((s) => (states = s))
    expect(states).toHaveLength(51)
    // the whole set in every batch (batch 6 of 6): step 1's gradient is ∇f at the start
    const g0 = valueAndGrad(loss)(params, { x, t }).grad
    const first = states[1]
    first.params.W.data.forEach((w, i) => expect(w).toBeCloseTo(-0.5 * g0.W.data[i], 15))
    expect(states[1].loss).toBeCloseTo(Math.log(3), 15) // zero weights: uniform softmax
    expect(states[50].loss).toBeLessThan(0.1)
  })
})
