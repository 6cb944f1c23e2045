// W3's training loop at test size (twoLayerNet 784–30–10, SGD 0.1, batches of 60 drawn by
// randomBatches), for the tests that compare a run's bits with and without a worker thread.
import { last, lastValueFrom, pipe, tap } from 'rxjs'
import { randomBatches, train, twoLayerNet, type Batch, type Dataset } from 'gradstream'
import { gradient, maxSteps, update } from 'gradstream/operators'
import { expect } from 'vitest'
import { same } from './sparseRows.js'

/** A run's losses (one a step) and final W1 and b1. */
export type SmallW3Run = { losses: number[]; W1: Float64Array; b1: Float64Array }

/** `steps` steps on `data`: each step's loss and the final W1 and b1 (`during` after each). */
export async function smallW3Run(
  data: Dataset,
  steps: number,
  during?: (step: number) => void,
): Promise<SmallW3Run> {
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 30, outputSize: 10, seed: 3 })
  const losses: number[] = []
  const final = await lastValueFrom(
    train({
      params: net.params,
      data: randomBatches(data, { batchSize: 60, seed: 11 }),
      step: pipe(
        gradient((p: typeof net.params, b: Batch) => net.lossAndGradient(p, b.x, b.t)),
        update(0.1),
      ),
    }).pipe(
      maxSteps(steps),
      tap((s) => {
        losses.push(s.loss)
        during?.(s.step)
      }),
      last(),
    ),
  )
  return { losses, W1: final.params.W1.data, b1: final.params.b1.data }
}

/** Fails unless two runs' losses, W1 and b1 are the same bits (`want`: the reference run). */
export function expectSameRun(got: SmallW3Run, want: SmallW3Run): void {
  expect(got.losses.length).toBe(want.losses.length)
  got.losses.forEach((l, i) => {
    if (!Object.is(l, want.losses[i]))
      expect.fail(`step ${i + 1}: loss ${l}, want ${want.losses[i]}`)
  })
  expect(same(got.W1, want.W1)).toBe(true)
  expect(same(got.b1, want.b1)).toBe(true)
}
