import {
  BehaviorSubject,
  identity,
  lastValueFrom,
  map,
  of,
  pipe,
  take,
  tap,
  toArray,
  type OperatorFunction,
} from 'rxjs'
import { describe, expect, it } from 'vitest'
import { tensor, train, type Tensor, type TrainState, type WithGradient } from 'gradstream'
import {
  applyUpdates,
  centralDifference,
  gradient,
  loss,
  perturb,
  scale,
  scaleByLearningRate,
  update,
} from 'gradstream/operators'

const wg: WithGradient<number[]> = Object.freeze({
  step: 4,
  params: [1, -2],
  loss: 3,
  grad: [0.3, -0.7],
  updates: [0.3, -0.7],
  baseLoss: 3,
  lr: NaN,
  opt: {},
  hyper: {},
  evaluations: 10,
  rng: { words: [1, 2, 3, 4], spare: null },
  history: [],
  metrics: {},
})

describe('update(lr)', () => {
  it('is x − lr·g bit for bit, and equals pipe(scaleByLearningRate(lr), applyUpdates())', async () => {
    const [a] = await lastValueFrom(of(wg).pipe(update(0.1), toArray()))
    const [b] = await lastValueFrom(
      of(wg).pipe(scaleByLearningRate(0.1), applyUpdates(), toArray()),
    )
    expect(a).toEqual(b)
    expect(a.params).toEqual([1 - 0.1 * 0.3, -2 - 0.1 * -0.7])
    expect(a.step).toBe(5)
    expect(a.lr).toBe(0.1)
    expect(a.loss).toBe(3)
    expect(a.evaluations).toBe(10)
    expect('updates' in a || 'baseLoss' in a).toBe(false)
  })

  it('a schedule or an Observable lr emits the states of pipe(scaleByLearningRate(lr), applyUpdates())', () => {
    // the fused path must not change a single value: compare whole runs field by field
    const f = (x: Tensor) => x.data[0] ** 2 + 3 * x.data[1] ** 2
    const schedule = (k: number) => 0.1 / (k + 1)
    const run = (last: OperatorFunction<WithGradient<Tensor>, TrainState<Tensor>>) => {
      const out: TrainState<Tensor>[] = []
      train({
        params: tensor([-3, 4]),
        step: pipe(perturb<Tensor>(centralDifference()), loss(f), gradient(), last),
      })
        .pipe(take(6))
        .subscribe((s) => out.push(s))
      return out
    }
    const viaSchedule = run(update(schedule))
    expect(viaSchedule).toEqual(run(pipe(scaleByLearningRate(schedule), applyUpdates())))
    expect(viaSchedule.map((s) => s.lr).slice(1)).toEqual([0.1, 0.05, 0.1 / 3, 0.025, 0.02])
    const lr$ = () => of(0.2, 0.05) // the latest value (0.05) is used from the first step on
    const viaObservable = run(update(lr$()))
    expect(viaObservable).toEqual(run(pipe(scaleByLearningRate(lr$()), applyUpdates())))
    expect(viaObservable[5].hyper).toEqual({ 'scaleByLearningRate.lr': 0.05 })
    for (const s of viaObservable) expect(Object.isFrozen(s) && Object.isFrozen(s.hyper)).toBe(true)
  })

  it('emits the states of the cut pipe: constant, schedule through −0, Observable, changing records', () => {
    // `map` between the operators cuts the fusion: scaleByLearningRate runs alone and
    // applyUpdates ends the step, the general path. The states must be equal field by field
    // (toEqual compares numbers by Object.is: −0 and 0 differ), the hyper records frozen.
    type G = WithGradient<Tensor>
    type Last = OperatorFunction<G, TrainState<Tensor>>
    const f = (x: Tensor) => x.data[0] ** 2 + 3 * x.data[1] ** 2
    const cut: OperatorFunction<G, G> = map((s: G) => s)
    const run = (last: Last, before: OperatorFunction<G, G> = identity) => {
      const out: TrainState<Tensor>[] = []
      train({
        params: tensor([-3, 4]),
        step: pipe(perturb<Tensor>(centralDifference()), loss(f), gradient(), before, last),
      })
        .pipe(take(8))
        .subscribe((s) => out.push(s))
      for (const s of out) expect(Object.isFrozen(s) && Object.isFrozen(s.hyper)).toBe(true)
      return out
    }
    const cutPipe =
      (lr: Parameters<typeof update>[0]): Last =>
      (src) =>
        src.pipe(scaleByLearningRate(lr), cut, applyUpdates())
    // a constant η
    const constant = run(update(0.1))
    expect(constant).toEqual(run(cutPipe(0.1)))
    expect(constant[7].hyper).toEqual({ 'scaleByLearningRate.lr': 0.1 })
    // a constant factor that is not η: state.lr stays what came in
    const scaled = run((src) => src.pipe(scale(-0.25), applyUpdates()))
    expect(scaled).toEqual(run((src) => src.pipe(scale(-0.25), cut, applyUpdates())))
    expect(scaled[7].lr).toBeNaN()
    // an incoming hyper record that changes every step (a schedule before a cut)
    const before: OperatorFunction<G, G> = (src) =>
      src.pipe(
        scale((k) => 1 + (k % 2)),
        cut,
      )
    expect(run(update(0.1), before)).toEqual(run(cutPipe(0.1), before))
    // one hyperparameter: a schedule repeating values, reaching 0 then −0 (another record)
    const etas = [0.1, 0.1, 0.05, 0, -0, -0, 0, 0.2]
    const schedule = (k: number) => etas[k]
    const viaSchedule = run(update(schedule))
    expect(viaSchedule).toEqual(run(cutPipe(schedule)))
    expect(Object.is(viaSchedule[5].hyper['scaleByLearningRate.lr'], -0)).toBe(true)
    expect(Object.is(viaSchedule[7].hyper['scaleByLearningRate.lr'], 0)).toBe(true)
    expect(viaSchedule[2].hyper).toBe(viaSchedule[1].hyper) // same value: the same record
    // an Observable changed between steps
    const observed = (last: (lr: BehaviorSubject<number>) => Last) => {
      const lr = new BehaviorSubject(0.1)
      return run(
        last(lr),
        tap((s: G) => lr.next(etas[s.step] || 0.3)),
      )
    }
    expect(observed((lr) => update(lr))).toEqual(observed((lr) => cutPipe(lr)))
  })

  it('validates on build', () => {
    expect(() => update(-0.1)).toThrow(
      new RangeError('scaleByLearningRate: lr: expected a positive finite number, got -0.1'),
    )
  })

  it('a mis-ordered pipe does not compile', () => {
    const f = (x: Tensor) => x.data[0] ** 2
    const ok = train({
      params: tensor([1]),
      step: pipe(perturb(centralDifference()), loss(f), gradient(), update(0.1)),
    })
    const wrong = () =>
      train({
        params: tensor([1]),
        // @ts-expect-error loss needs the probes perturb adds: loss before perturb is rejected
        step: pipe(loss(f), perturb(centralDifference()), gradient(), update(0.1)),
      })
    const noGradient = () =>
      train({
        params: tensor([1]),
        // @ts-expect-error update needs a gradient
        step: pipe(perturb(centralDifference()), loss(f), update(0.1)),
      })
    expect(ok).toBeDefined()
    expect(typeof wrong).toBe('function')
    expect(typeof noGradient).toBe('function')
  })
})
