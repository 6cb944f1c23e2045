/**
 * A deeper net on MNIST with the library's pieces, no CLI: an `mlp` (784–100–100–10, relu, He
 * init) whose gradient comes from the reverse-mode tape, shuffled epochs from `epochBatches`,
 * Adam, and `evaluateEvery` adding test accuracy to the states once per epoch.
 *
 *   npm run example:mnist-mlp            # 3 epochs on all 60,000 images (a few minutes)
 *   npm run example:mnist-mlp -- --quick # 2,000 images, 2 epochs (seconds)
 */
import { pathToFileURL } from 'node:url'
import { pipe } from 'rxjs'
import { accuracy, batchesPerEpoch, epochBatches, mlp, train } from 'gradstream'
import { loadMnist } from 'gradstream/node'
import type { Batch, MlpParams, TrainState } from 'gradstream'
import { adam, evaluateEvery, gradient, maxSteps } from 'gradstream/operators'

export function main({ trainSize = 60000, testSize = 10000, epochs = 3 } = {}) {
  const { train: trainSet, test } = loadMnist({ oneHotLabel: true, trainSize, testSize })
  const net = mlp({ sizes: [784, 100, 100, 10], activation: 'relu', init: 'he', seed: 1 })
  const perEpoch = batchesPerEpoch(trainSize, 100)
  const batches = epochBatches(trainSet, { batchSize: 100, seed: 1 })
  const lines: string[] = []
  let last: TrainState<MlpParams> | undefined
  train({
    params: net.params,
    data: { [Symbol.iterator]: () => batches[Symbol.iterator]() },
    step: pipe(
      gradient<MlpParams, Batch>((p, b) => net.lossAndGradient(p, b.x, b.t)),
      adam(0.001),
    ),
  })
    .pipe(
      maxSteps(epochs * perEpoch),
      evaluateEvery({ epochs: 1, stepsPerEpoch: perEpoch }, (s) => ({
        testAcc: accuracy(net, s.params, test.x, test.t),
      })),
    )
    .subscribe((s) => {
      // the default driver is synchronous: subscribe returns when training is done
      if (s.step > 0 && s.step % perEpoch === 0) {
        lines.push(
          `epoch ${s.step / perEpoch}: loss ${s.loss.toFixed(4)}, test acc ${s.metrics.testAcc}`,
        )
        if (isMain) console.log(lines.at(-1))
      }
      last = s
    })
  return { lines, last }
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (isMain) {
  const quick = process.argv.includes('--quick')
  main(quick ? { trainSize: 2000, testSize: 1000, epochs: 2 } : {})
}
