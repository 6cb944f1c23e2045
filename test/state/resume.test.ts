import fc from 'fast-check'
import { take, toArray, lastValueFrom, type Observable, type OperatorFunction } from 'rxjs'
import { describe as group, expect, it } from 'vitest'
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
  addDecayedWeights,
  addNoise,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  clipByValue,
  ema,
  lookahead,
  masked,
  perParameter,
  scale,
  scaleByAdam,
  scaleByLearningRate,
  scaleByLion,
  scaleByMomentum,
  scaleByRms,
  adagrad,
  adam,
  adamw,
  centralDifference,
  cosineDecay,
  exponentialDecay,
  forwardDifference,
  gaussian,
  gradient,
  lion,
  loss,
  momentum,
  nesterov,
  oneCycle,
  perturb,
  piecewise,
  rmsprop,
  sgd,
  spsa,
  stepDecay,
  warmup,
  type Hyperparam,
} from 'gradstream/operators'

type P = { readonly w: Tensor; readonly b: number }

// A small least-squares problem: 12 examples of 3 features, targets from a fixed rule.
const X = tensor(Array.from({ length: 12 }, (_, i) => [Math.sin(i), Math.cos(2 * i), (i % 5) / 4]))
const T = tensor(Array.from({ length: 12 }, (_, i) => [0.5 * Math.sin(i) - Math.cos(2 * i) + 0.3]))
const dataset = { x: X, t: T }

function squaredError(p: P, batch: Batch | undefined): number {
  const x = batch?.x ?? X
  const t = batch?.t ?? T
  const rows = x.shape[0]
  let s = 0
  for (let r = 0; r < rows; r++) {
    let y = p.b
    for (let j = 0; j < 3; j++) y += x.data[3 * r + j] * p.w.data[j]
    s += (y - t.data[r]) ** 2
  }
  return s / rows
}

const optimizers: Record<string, (lr: Hyperparam) => OperatorFunction<never, TrainState<P>>> = {
  sgd: (lr) => sgd(lr) as never,
  momentum: (lr) => momentum(lr, 0.9) as never,
  nesterov: (lr) => nesterov(lr) as never,
  adagrad: (lr) => adagrad(lr) as never,
  rmsprop: (lr) => rmsprop(lr) as never,
  adam: (lr) => adam(lr) as never,
  adamw: (lr) => adamw(lr) as never,
  lion: (lr) => lion(lr) as never,
}
const schedules: Record<string, () => Hyperparam> = {
  number: () => 0.05,
  cosineDecay: () => cosineDecay({ init: 0.05, steps: 10 }),
  exponentialDecay: () => exponentialDecay({ init: 0.05, rate: 0.8, steps: 3, staircase: true }),
  stepDecay: () => stepDecay({ init: 0.05, factor: 0.5, every: 3 }),
  warmup: () => warmup({ to: 0.05, steps: 4 }),
  oneCycle: () => oneCycle({ maxLr: 0.05, steps: 16 }),
  piecewise: () => piecewise({ boundaries: [3, 6], values: [0.05, 0.02, 0.01] }),
}
const estimators = {
  central: () => centralDifference(),
  forward: () => forwardDifference({ h: 1e-5 }),
  spsa: () => spsa({ c: 1e-2 }),
  spsaOwnSeed: () => spsa({ c: 1e-2, samples: 2, seed: 7 }),
  gaussian: () => gaussian({ sigma: 1e-2, samples: 2 }),
  gaussianOwnSeed: () => gaussian({ sigma: 1e-2, antithetic: false, seed: 3 }),
}

interface Pipeline {
  readonly optimizer: keyof typeof optimizers
  readonly schedule: keyof typeof schedules
  readonly estimator: keyof typeof estimators
  readonly seed: number
  readonly batches: boolean
}

/** Builds the step afresh, as a new process resuming a run would. */
const stepOf =
  (p: Pipeline): OperatorFunction<TrainState<P>, TrainState<P>> =>
  (source: Observable<TrainState<P>>) =>
    source.pipe(
      perturb(estimators[p.estimator]()),
      loss(squaredError),
      gradient(),
      optimizers[p.optimizer](schedules[p.schedule]()) as OperatorFunction<unknown, TrainState<P>>,
    )

/** The sampler as a plain Iterable (train drains a synchronous Observable eagerly). */
const dataOf = (p: Pipeline): Iterable<Batch> | undefined => {
  if (!p.batches) return undefined
  const batches = randomBatches(dataset, { batchSize: 4, seed: p.seed ^ 0x5eed })
  return { [Symbol.iterator]: () => batches[Symbol.iterator]() }
}

const pipelineArb: fc.Arbitrary<Pipeline> = fc.record({
  optimizer: fc.constantFrom(...(Object.keys(optimizers) as (keyof typeof optimizers)[])),
  schedule: fc.constantFrom(...(Object.keys(schedules) as (keyof typeof schedules)[])),
  estimator: fc.constantFrom(...(Object.keys(estimators) as (keyof typeof estimators)[])),
  seed: fc.integer({ min: -2147483648, max: 2147483647 }),
  batches: fc.boolean(),
})

const params0: P = { w: tensor([0.1, -0.2, 0.3]), b: 0 }

function run(p: Pipeline, n: number): TrainState<P>[] {
  const out: TrainState<P>[] = []
  const data = dataOf(p)
  train<P>({ params: params0, step: stepOf(p), seed: p.seed, ...(data ? { data } : {}) })
    .pipe(take(n + 1))
    .subscribe((s) => out.push(s))
  return out
}

group('resume', () => {
  it('documents its example: continues from step 10', () => {
    const step = (source: Observable<TrainState<Tensor>>) =>
      source.pipe(
        perturb(centralDifference()),
        loss((x: Tensor) => x.data[0] ** 2),
        gradient(),
        sgd(0.1),
      )
    let saved = ''
    train({ params: tensor([3]), step })
      .pipe(take(11))
      .subscribe((s) => (saved = checkpoint(s)))
    const steps: number[] = []
    resume<Tensor>(saved, { step })
      .pipe(take(11))
      .subscribe((s) => steps.push(s.step))
    expect(steps).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
  })

  it('n steps = k steps, checkpoint through a JSON string, resume, n − k steps: every later state bit-identical (property)', () => {
    let tried = 0
    fc.assert(
      fc.property(
        pipelineArb,
        fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n }))),
        (p, [n, k]) => {
          tried++
          const straight = run(p, n)
          expect(straight).toHaveLength(n + 1)
          const json = checkpoint(straight[k]) // a string: nothing shared with the first run
          const data = dataOf(p)
          const resumed: string[] = []
          resume<P>(json, { step: stepOf(p), ...(data ? { data } : {}) })
            .pipe(take(n - k + 1))
            .subscribe((s) => resumed.push(checkpoint(s)))
          // checkpoint() writes every double's 8 bytes (base64), so equal text is equal bits
          expect(resumed).toEqual(straight.slice(k).map(checkpoint))
        },
      ),
    )
    console.log(`resume equivalence: ${tried} random pipelines and split points`)
  })

  it('takes a sampler as it is (randomBatches is an Observable and an Iterable) and skips the used batches', () => {
    const p: Pipeline = {
      optimizer: 'momentum',
      schedule: 'number',
      estimator: 'central',
      seed: 9,
      batches: true,
    }
    const straight = run(p, 6)
    const resumed: string[] = []
    // the sampler itself, not wrapped as a plain Iterable: resume must read it as train does
    // (its Observable side pushes batches without end, synchronously, and never lets go)
    const data = randomBatches(dataset, { batchSize: 4, seed: p.seed ^ 0x5eed })
    resume<P>(checkpoint(straight[2]), { step: stepOf(p), data })
      .pipe(take(5))
      .subscribe((s) => resumed.push(checkpoint(s)))
    expect(resumed).toEqual(straight.slice(2).map(checkpoint))
  })

  it('takes the data as a function of the restored state (no skipping)', async () => {
    const p: Pipeline = {
      optimizer: 'adam',
      schedule: 'number',
      estimator: 'spsa',
      seed: 4,
      batches: true,
    }
    const straight = run(p, 6)
    let seenStep = -1
    const resumed = await lastValueFrom(
      resume<P>(checkpoint(straight[3]), {
        step: stepOf(p),
        data: (s: TrainState<P>) => {
          seenStep = s.step
          // a sampler that can only replay from the start: skip by hand
          return { [Symbol.iterator]: () => iterateFrom(dataOf(p)!, s.step) }
        },
      }).pipe(take(4), toArray()),
    )
    expect(seenStep).toBe(3)
    expect(resumed.map(checkpoint)).toEqual(straight.slice(3).map(checkpoint))
  })

  it('would notice a lost generator state or a lost optimizer slot (the property can fail)', () => {
    const p: Pipeline = {
      optimizer: 'adam',
      schedule: 'number',
      estimator: 'spsa',
      seed: 9,
      batches: false,
    }
    const straight = run(p, 4)
    const later = (from: TrainState<P>) => {
      const out: string[] = []
      resume<P>(checkpoint(from), { step: stepOf(p) })
        .pipe(take(3))
        .subscribe((s) => out.push(checkpoint(s)))
      return out
    }
    const expected = straight.slice(2).map(checkpoint)
    expect(later(straight[2])).toEqual(expected)
    expect(later({ ...straight[2], rng: straight[1].rng })).not.toEqual(expected)
    expect(later({ ...straight[2], opt: straight[1].opt })).not.toEqual(expected)
  })

  // every transform keeps its memory in state.opt: each stack must survive checkpoint → resume
  const stacks: Record<string, () => OperatorFunction<unknown, TrainState<P>>[]> = {
    lookahead: () =>
      [lookahead(scaleByAdam(), { k: 3 }), scaleByLearningRate(0.05), applyUpdates()] as never,
    ema: () => [scaleByMomentum(0.9), scaleByLearningRate(0.05), applyUpdates(), ema(0.9)] as never,
    addNoise: () =>
      [addNoise({ eta: 0.01, seed: 5 }), scaleByLearningRate(0.05), applyUpdates()] as never,
    masked: () =>
      [
        masked(scaleByAdam(), { w: true, b: false }),
        scaleByLearningRate(0.05),
        applyUpdates(),
      ] as never,
    perParameter: () =>
      [
        perParameter({ w: scaleByAdam(), b: scaleByMomentum(0.5) }),
        scaleByLearningRate(0.05),
        applyUpdates(),
      ] as never,
    chain: () =>
      [
        chain(clipByGlobalNorm(1), scaleByRms(0.9), addDecayedWeights(1e-3)),
        scaleByLearningRate(cosineDecay({ init: 0.05, steps: 8 })),
        applyUpdates(),
      ] as never,
    lion: () =>
      [
        scaleByLion(),
        clipByValue(0.5),
        scale(0.5),
        scaleByLearningRate(0.05),
        applyUpdates(),
      ] as never,
  }
  it.each(Object.keys(stacks).flatMap((name) => [0, 3, 7].map((k) => [name, k] as const)))(
    '%s: resuming at step %i replays the run bit for bit',
    (name, k) => {
      const n = 8
      const stepFor = () => (source: Observable<TrainState<P>>) =>
        (source.pipe as (...ops: unknown[]) => Observable<TrainState<P>>)(
          perturb(spsa({ c: 1e-2 })),
          loss(squaredError),
          gradient(),
          ...stacks[name](),
        )
      const straight: TrainState<P>[] = []
      train<P>({ params: params0, step: stepFor(), seed: 11 })
        .pipe(take(n + 1))
        .subscribe((s) => straight.push(s))
      const resumed: string[] = []
      resume<P>(checkpoint(straight[k]), { step: stepFor() })
        .pipe(take(n - k + 1))
        .subscribe((s) => resumed.push(checkpoint(s)))
      expect(resumed).toEqual(straight.slice(k).map(checkpoint))
      // the stack really keeps something (except stateless ones) — the test is not vacuous
      expect(Object.keys(straight[n].opt).length).toBeGreaterThan(0)
    },
  )

  it('names a bad checkpoint and a bad config as resume', () => {
    const step = stepOf({
      optimizer: 'sgd',
      schedule: 'number',
      estimator: 'central',
      seed: 1,
      batches: false,
    })
    expect(() => resume('{"format":"gradstream-checkpoint","version":1,', { step })).toThrow(
      /^resume: json: expected a complete JSON checkpoint, got invalid JSON \(.+\)$/,
    )
    const json = checkpoint(
      run(
        { optimizer: 'sgd', schedule: 'number', estimator: 'central', seed: 1, batches: false },
        1,
      )[1],
    )
    expect(() => resume(json, { step: undefined as never })).toThrow(
      'resume: step: expected a function, got undefined',
    )
    expect(() => resume(json, { step, data: 5 as never })).toThrow(
      'resume: data: expected an iterable, an async iterable or an Observable of batches, got 5',
    )
    expect(() => resume(json, { step, dat: [] } as never)).toThrow(
      new TypeError('resume: config.dat: expected no such key (known: step, data, mode), got []'),
    )
    expect(() => resume(json, null as never)).toThrow(
      new TypeError('resume: config: expected an object, got null'),
    )
  })
})

function* iterateFrom<B>(data: Iterable<B>, n: number): Generator<B> {
  let i = 0
  for (const b of data) {
    if (i++ >= n) yield b
    if (i > n + 100) return
  }
}
