import fc from 'fast-check'
import { take, type OperatorFunction } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  checkpoint,
  randomBatches,
  resume,
  tensor,
  train,
  type Batch,
  type Tensor,
  type TrainState,
} from 'gradstream'
import {
  adam,
  applyUpdates,
  cosineDecay,
  gradient,
  momentum,
  multiSteps,
  sam,
  scaleByBacktrackingLinesearch,
  scaleByLearningRate,
  scheduleFreeAdamw,
  scheduleFreeSgd,
  sgd,
} from 'gradstream/operators'

// Checkpoint → JSON string → resume equals the uninterrupted run bit for bit, at any step, for
// the optimizers that need the whole step (issue 17): SAM's second gradient, schedule-free's
// z and weight sums, multiSteps' running mean and mini-step, the line search's last η.

type P = { readonly w: Tensor; readonly b: number }

// least squares on 12 examples of 3 features (as test/state/resume.test.ts), with its gradient
const X = tensor(Array.from({ length: 12 }, (_, i) => [Math.sin(i), Math.cos(2 * i), (i % 5) / 4]))
const T = tensor(Array.from({ length: 12 }, (_, i) => [0.5 * Math.sin(i) - Math.cos(2 * i) + 0.3]))
const dataset = { x: X, t: T }

function lossAndGrad(p: P, batch: Batch | undefined) {
  const x = batch?.x ?? X
  const t = batch?.t ?? T
  const rows = x.shape[0]
  let s = 0
  const gw = [0, 0, 0]
  let gb = 0
  for (let r = 0; r < rows; r++) {
    let y = p.b
    for (let j = 0; j < 3; j++) y += x.data[3 * r + j] * p.w.data[j]
    const e = y - t.data[r]
    s += e * e
    for (let j = 0; j < 3; j++) gw[j] += (2 * e * x.data[3 * r + j]) / rows
    gb += (2 * e) / rows
  }
  return { loss: s / rows, grad: { w: tensor(gw), b: gb } }
}
const lossOf = (p: P, b: Batch | undefined) => lossAndGrad(p, b).loss

const steps: Record<string, () => OperatorFunction<TrainState<P>, TrainState<P>>> = {
  samMomentum: () => (s$) => s$.pipe(sam(lossAndGrad, { rho: 0.1 }), momentum(0.05)),
  asamAdam: () => (s$) => s$.pipe(sam(lossAndGrad, { rho: 0.5, adaptive: true }), adam(0.05)),
  scheduleFreeSgd: () => (s$) =>
    s$.pipe(
      gradient(lossAndGrad),
      scheduleFreeSgd(0.2, { warmupSteps: 3, weightDecay: 0.01, b1: 0.8 }),
    ),
  scheduleFreeAdamw: () => (s$) =>
    s$.pipe(gradient(lossAndGrad), scheduleFreeAdamw(0.05, { warmupSteps: 2, weightDecay: 0.1 })),
  multiStepsAdam: () => (s$) => s$.pipe(gradient(lossAndGrad), multiSteps(3, adam(0.05))),
  multiStepsSgdCosine: () => (s$) =>
    s$.pipe(gradient(lossAndGrad), multiSteps(2, sgd(cosineDecay({ init: 0.1, steps: 5 })))),
  linesearch: () => (s$) =>
    s$.pipe(
      gradient(lossAndGrad),
      scaleByLearningRate(1),
      scaleByBacktrackingLinesearch(lossOf, { maxLearningRate: 2 }),
      applyUpdates(),
    ),
}
const names = Object.keys(steps)

const dataOf = (seed: number, batches: boolean): Iterable<Batch> | undefined => {
  if (!batches) return undefined
  const b = randomBatches(dataset, { batchSize: 4, seed })
  return { [Symbol.iterator]: () => b[Symbol.iterator]() }
}
const params0: P = { w: tensor([0.1, -0.2, 0.3]), b: 0 }

function run(name: string, seed: number, batches: boolean, n: number): TrainState<P>[] {
  const out: TrainState<P>[] = []
  const data = dataOf(seed, batches)
  train<P>({ params: params0, step: steps[name](), seed, ...(data ? { data } : {}) })
    .pipe(take(n + 1))
    .subscribe((s) => out.push(s))
  return out
}

function resumed(name: string, seed: number, batches: boolean, from: TrainState<P>, n: number) {
  const out: string[] = []
  const data = dataOf(seed, batches)
  resume<P>(checkpoint(from), { step: steps[name](), ...(data ? { data } : {}) })
    .pipe(take(n))
    .subscribe((s) => out.push(checkpoint(s)))
  return out
}

describe('checkpoint/resume of the whole-step optimizers', () => {
  it('n steps = k steps, checkpoint as a string, resume, n − k steps: every later state bit-identical (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.integer({ min: -2147483648, max: 2147483647 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 10 }).chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n }))),
        (name, seed, batches, [n, k]) => {
          const straight = run(name, seed, batches, n)
          expect(straight).toHaveLength(n + 1)
          // checkpoint() writes every double's bytes: equal text is equal bits
          expect(resumed(name, seed, batches, straight[k], n - k + 1)).toEqual(
            straight.slice(k).map(checkpoint),
          )
        },
      ),
    )
  })

  it.each(names)(
    '%s: the slot matters (resuming with the previous step’s slots differs)',
    (name) => {
      const straight = run(name, 3, true, 6)
      const expected = straight.slice(4).map(checkpoint)
      expect(resumed(name, 3, true, straight[4], 3)).toEqual(expected)
      if (name.startsWith('sam')) return // SAM keeps nothing between steps beyond its optimizer's
      const stale = { ...straight[4], opt: straight[3].opt }
      expect(resumed(name, 3, true, stale, 3)).not.toEqual(expected)
    },
  )
})
