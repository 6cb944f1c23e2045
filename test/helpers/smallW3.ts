// W3's training loop at test size (twoLayerNet 784–30–10, SGD 0.1, batches of 60 drawn by
// randomBatches), for the tests that compare a run's bits with and without a worker thread.
import { last, lastValueFrom, pipe, tap } from 'rxjs'
import { randomBatches, train, twoLayerNet, type Batch, type Dataset } from 'gradstream'
import { gradient, maxSteps, update } from 'gradstream/operators'

/** `steps` steps on `data`: each step's loss and the final W1 and b1 (`during` after each). */
export async function smallW3Run(data: Dataset, steps: number, during?: (step: number) => void) {
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
