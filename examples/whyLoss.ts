/**
 * Why networks are trained on a loss, not on accuracy (§4.2.5): the accuracy of simpleNet on a
 * small batch is a staircase in W, so its numerical gradient is zero almost everywhere — there
 * is nothing to descend — while the loss changes smoothly and its gradient points somewhere.
 * The same holds for the step function against the sigmoid.
 *
 *   npm run example:why-loss   → prints the gradients, writes examples/out/why-loss.svg
 */
import {
  flatten,
  numericalDiff,
  numericalGradient,
  randn,
  rng,
  sigmoid,
  simpleNet,
  step,
  tensor,
  type Tensor,
} from 'gradstream'
import { isMain, plot, writeSvg } from './svg.js'

/** A batch of 8 points in the plane, labelled by the sector they lie in (3 classes). */
const r = rng(11)
const xs = randn([8, 2], r)
const labels = Array.from({ length: 8 }, (_, i) => {
  const a = Math.atan2(xs.data[2 * i + 1], xs.data[2 * i])
  return a < -Math.PI / 3 ? 0 : a < Math.PI / 3 ? 1 : 2
})

const net = simpleNet({ seed: 4 })

export function accuracy(W: Tensor): number {
  const z = net.predict(xs, W).data
  let hits = 0
  for (let i = 0; i < 8; i++) {
    const row = [z[3 * i], z[3 * i + 1], z[3 * i + 2]]
    if (row.indexOf(Math.max(...row)) === labels[i]) hits++
  }
  return hits / 8
}

export const loss = (W: Tensor): number => net.loss(xs, labels, W)

export function main(outDir?: string) {
  const W = net.W
  const gAcc = flatten(numericalGradient(accuracy, W))
  const gLoss = flatten(numericalGradient(loss, W))
  const fmt = (a: Float64Array) => `[${[...a].map((v) => v.toPrecision(4)).join(', ')}]`
  const lines = [
    `accuracy(W) = ${accuracy(W)}, loss(W) = ${loss(W)}`,
    `∇ accuracy = ${fmt(gAcc)}`,
    `∇ loss     = ${fmt(gLoss)}`,
    '',
    'the same in one dimension:',
  ]
  for (const x of [-2, -0.5, 0.5, 2]) {
    lines.push(
      `  x = ${x}: step′ ≈ ${numericalDiff((v) => step(v), x)}, sigmoid′ ≈ ${numericalDiff((v) => sigmoid(v), x).toPrecision(6)}`,
    )
  }
  // accuracy and loss along a random line W + s·D through weight space
  const D = randn([2, 3], rng(5))
  const line = Array.from({ length: 401 }, (_, i) => -2 + i / 100)
  const at = (s: number) =>
    tensor([0, 1].map((i) => [0, 1, 2].map((j) => W.data[3 * i + j] + s * D.data[3 * i + j])))
  const accs = line.map((s) => [s, accuracy(at(s))] as const)
  const losses = line.map((s) => [s, loss(at(s))] as const)
  const svg = plot({
    title: 'along a line W + s·D: accuracy is a staircase, the loss is smooth',
    y: [0, Math.ceil(Math.max(...losses.map((p) => p[1])))],
    xLabel: 's',
    yLabel: 'value',
    series: [
      { points: accs, label: 'accuracy', style: 'step' },
      { points: losses, label: 'cross-entropy loss' },
    ],
  })
  const file = writeSvg('why-loss.svg', svg, outDir)
  lines.push('', `wrote ${file}`)
  const zeros = [...gAcc].filter((v) => v === 0).length
  return { text: lines.join('\n'), gAcc, gLoss, zeros, file }
}

if (isMain(import.meta.url)) console.log(main().text)
