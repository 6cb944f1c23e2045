/**
 * SGD, SAM-SGD and schedule-free SGD on MNIST (the book's TwoLayerNet, 784–50–10 sigmoid, batch
 * 100, shuffled epochs): test accuracy after each epoch, printed and drawn as an SVG
 * (examples/out/sharpness.svg). SAM takes each gradient at the worst point of a ρ-ball around
 * the weights (two gradients a step); schedule-free SGD averages its iterates with no learning
 * rate schedule and is measured on that average, `scheduleFreeEvalParams(state)`.
 *
 *   npm run example:sharpness             # 5 epochs on all 60,000 images (about a minute)
 *   npm run example:sharpness -- --quick  # 2,000 images, 2 epochs (seconds)
 */
import { pipe } from 'rxjs'
import { accuracy, batchesPerEpoch, epochBatches, train, twoLayerNet } from 'gradstream'
import type { Batch, TrainState, TwoLayerParams } from 'gradstream'
import { loadMnist } from 'gradstream/node'
import {
  evaluateEvery,
  gradient,
  maxSteps,
  sam,
  scheduleFreeEvalParams,
  scheduleFreeSgd,
  sgd,
} from 'gradstream/operators'
import { isMain, plot, writeSvg } from './svg.js'

export function main({
  trainSize = 60000,
  testSize = 10000,
  epochs = 5,
  dir = undefined as string | undefined,
} = {}) {
  const { train: trainSet, test } = loadMnist({
    normalize: true,
    oneHotLabel: true,
    trainSize,
    testSize,
  })
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
  const fg = (p: TwoLayerParams, b: Batch) => net.lossAndGradient(p, b.x, b.t)
  const perEpoch = batchesPerEpoch(trainSize, 100)
  const runs = {
    SGD: { step: pipe(gradient(fg), sgd(0.5)), at: (s: TrainState<TwoLayerParams>) => s.params },
    'SAM-SGD (ρ 0.05)': {
      step: pipe(sam(fg, { rho: 0.05 }), sgd(0.5)),
      at: (s: TrainState<TwoLayerParams>) => s.params,
    },
    'schedule-free SGD': {
      step: pipe(gradient(fg), scheduleFreeSgd(2, { warmupSteps: perEpoch })),
      at: (s: TrainState<TwoLayerParams>) => scheduleFreeEvalParams(s),
    },
  }
  const acc: Record<string, number[]> = {}
  const lines: string[] = []
  for (const [name, { step, at }] of Object.entries(runs)) {
    const batches = epochBatches(trainSet, { batchSize: 100, seed: 1 }) // the same batches for each
    acc[name] = []
    train({
      params: net.params,
      step,
      data: { [Symbol.iterator]: () => batches[Symbol.iterator]() },
    })
      .pipe(
        maxSteps(epochs * perEpoch),
        evaluateEvery({ epochs: 1, stepsPerEpoch: perEpoch }, (s) => ({
          testAcc: accuracy(net, at(s), test.x, test.t),
        })),
      )
      .subscribe((s) => {
        if (s.step % perEpoch === 0) acc[name].push(s.metrics.testAcc)
      })
    lines.push(
      `${name.padEnd(18)} test acc by epoch: ${acc[name]
        .slice(1)
        .map((a) => a.toFixed(4))
        .join(' ')}`,
    )
    if (isMain(import.meta.url)) console.log(lines.at(-1))
  }
  const svg = plot({
    title: `MNIST TwoLayerNet 784-50-10: test accuracy per epoch (${trainSize} images)`,
    xLabel: 'epoch',
    yLabel: 'test accuracy',
    legend: 'bottom-right',
    series: Object.entries(acc).map(([label, a]) => ({
      label,
      points: a.map((v, e) => [e, v] as const),
    })),
  })
  const file = writeSvg('sharpness.svg', svg, dir)
  if (isMain(import.meta.url)) console.log(`plot: ${file}`)
  return { lines, acc, file }
}

if (isMain(import.meta.url)) {
  main(process.argv.includes('--quick') ? { trainSize: 2000, testSize: 1000, epochs: 2 } : {})
}
