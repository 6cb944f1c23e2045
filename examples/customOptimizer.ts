/**
 * An optimizer gradstream does not ship, composed in the step pipeline: gradients clipped to
 * norm 1, Adam, decoupled weight decay on the weights but not the bias, and a learning rate
 * that warms up linearly then follows a cosine — training the book's simpleNet (x·W, plus a
 * bias b here so that the mask has something to skip) on three Gaussian blobs. The gradient
 * is the book's: central differences.
 *
 *   npm run example:custom-optimizer   → prints the loss, accuracy and learning rate as it goes
 */
import { pipe, toArray } from 'rxjs'
import {
  accuracy,
  add,
  fromData,
  rng,
  simpleNet,
  softmaxCrossEntropy,
  type Tensor,
  train,
  type TrainState,
  zeros,
} from 'gradstream'
import {
  addDecayedWeights,
  applyUpdates,
  centralDifference,
  clipByGlobalNorm,
  cosineDecay,
  gradient,
  loss,
  maxSteps,
  perturb,
  scaleByAdam,
  scaleByLearningRate,
  warmup,
} from 'gradstream/operators'
import { isMain } from './svg.js'

/** 3 classes × 30 points around (−2, 0), (2, 0), (0, 2.5), σ = 0.8, from rng(seed). */
export function blobs(seed = 0) {
  const r = rng(seed)
  const centers = [
    [-2, 0],
    [2, 0],
    [0, 2.5],
  ]
  const x = new Float64Array(90 * 2)
  const labels = new Float64Array(90)
  for (let i = 0; i < 90; i++) {
    const k = i % 3
    x[2 * i] = centers[k][0] + 0.8 * r.normal()
    x[2 * i + 1] = centers[k][1] + 0.8 * r.normal()
    labels[i] = k
  }
  return { x: fromData([90, 2], x), t: fromData([90], labels) }
}

type Net = { readonly W: Tensor; readonly b: Tensor }

export function main(steps = 300) {
  const { x, t } = blobs()
  const net = simpleNet({ seed: 0 }) // the book's 2×3 N(0, 1) weights
  const logits = (p: Net, xs: Tensor) => add(net.predict(xs, p.W), p.b)
  const objective = (p: Net) => softmaxCrossEntropy(logits(p, x), t)

  // ---- the optimizer: clipped Adam, weight decay on all but biases, warmup then cosine ----
  const lr = warmup({ to: 0.1, steps: 30, then: cosineDecay({ init: 0.1, steps: steps - 30 }) })
  const step = pipe(
    perturb<Net>(centralDifference()),
    loss(objective),
    gradient(),
    clipByGlobalNorm(1),
    scaleByAdam(),
    addDecayedWeights(1e-2, { mask: (path) => path !== 'b' }),
    scaleByLearningRate(lr),
    applyUpdates(),
  )
  // ------------------------------------------------------------------------------------------

  let states: TrainState<Net>[] = []
  train({ params: { W: net.W, b: zeros([3]) } as Net, step })
    .pipe(maxSteps(steps), toArray())
    .subscribe((s) => (states = s))

  const acc = (p: Net) => accuracy({ logits }, p, x, t)
  const lines = ['step   loss      accuracy  lr']
  for (const s of states.filter((s) => s.step % 30 === 0 || s.step === steps)) {
    const f = objective(s.params)
    lines.push(
      `${String(s.step).padStart(4)}   ${f.toFixed(5)}   ${acc(s.params).toFixed(3)}     ${Number.isNaN(s.lr) ? '—' : s.lr.toFixed(5)}`,
    )
  }
  const last = states[states.length - 1]
  lines.push('', `slots: ${Object.keys(last.opt).join(', ')}`)
  lines.push(`hyperparameters used at the last step: ${JSON.stringify(last.hyper)}`)
  return { text: lines.join('\n'), states, objective, accuracy: acc, lr }
}

if (isMain(import.meta.url)) console.log(main().text)
