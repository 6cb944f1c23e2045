import fc from 'fast-check'
import {
  asyncScheduler,
  lastValueFrom,
  Observable,
  of,
  pipe,
  Subject,
  toArray,
  type SchedulerLike,
} from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { tensor, train, type TrainState } from 'gradstream'
import {
  earlyStopping,
  gradient,
  gradNormBelow,
  lossBelow,
  maxSteps,
  paramChangeBelow,
  stopOn,
  stopOnNonFinite,
  timeLimit,
  update,
} from 'gradstream/operators'

/** A minimal state for rules that read only a few fields. */
const st = (step: number, loss: number, extra: Partial<TrainState> = {}): TrainState =>
  Object.freeze({
    step,
    params: [step],
    loss,
    grad: step === 0 ? null : [1],
    lr: 0.1,
    opt: {},
    hyper: {},
    evaluations: step,
    rng: { words: [1, 2, 3, 4], spare: null },
    history: [],
    metrics: {},
    ...extra,
  })

/** An endless synchronous source that counts what it produced (STYLE.md). */
const endless = (
  loss: (i: number) => number,
  extra: (i: number) => Partial<TrainState> = () => ({}),
) => {
  const produced = { n: 0 }
  const $ = new Observable<TrainState>((s) => {
    for (let i = 0; !s.closed; i++) {
      if (++produced.n > 1e6) throw new Error('runaway')
      s.next(st(i, loss(i), extra(i)))
    }
  })
  return { produced, $ }
}

const ts = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

describe('lossBelow', () => {
  it('the doc example', async () => {
    const steps = await lastValueFrom(
      of(st(0, NaN), st(1, 0.02), st(2, 0.01)).pipe(lossBelow(0.05), toArray()),
    )
    expect(steps.map((s) => s.step)).toEqual([0, 1])
    expect(steps[1].stopReason).toEqual({ rule: 'lossBelow', threshold: 0.05, loss: 0.02 })
    expect(steps[0].stopReason).toBeUndefined()
  })

  it('stops a synchronous source', () => {
    const { produced, $ } = endless((i) => 1 / (i + 1))
    $.pipe(lossBelow(0.3)).subscribe()
    expect(produced.n).toBe(4)
  })

  it('passes errors and early completion through; NaN never meets it', async () => {
    await expect(
      lastValueFrom(of(st(0, NaN), st(1, NaN)).pipe(lossBelow(1), toArray())),
    ).resolves.toHaveLength(2)
    const e$ = new Subject<TrainState>()
    let err: unknown
    e$.pipe(lossBelow(1)).subscribe({ error: (e) => (err = e) })
    e$.error(new Error('up'))
    expect((err as Error).message).toBe('up')
  })

  it('validates', () => {
    expect(() => lossBelow(NaN)).toThrow(
      new RangeError('lossBelow: threshold: expected a finite number, got NaN'),
    )
  })
})

describe('maxSteps', () => {
  it('emits exactly n + 1 states from a fresh run, the last with its reason', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), (n) => {
        const { produced, $ } = endless(() => 1)
        const out: TrainState[] = []
        $.pipe(maxSteps(n)).subscribe((s) => out.push(s))
        expect(out).toHaveLength(n + 1)
        expect(produced.n).toBe(n + 1)
        expect(out[n].stopReason).toEqual({ rule: 'maxSteps', steps: n })
      }),
    )
  })

  it('validates', () => {
    expect(() => maxSteps(-1)).toThrow(
      new RangeError('maxSteps: n: expected a non-negative integer, got -1'),
    )
  })
})

describe('gradNormBelow / paramChangeBelow / stopOnNonFinite', () => {
  it('gradNormBelow reads ‖grad‖₂ (3-4-5)', async () => {
    const states = [st(0, 1), st(1, 1, { grad: [3, 4] }), st(2, 1, { grad: [0.3, 0.4] }), st(3, 1)]
    const out = await lastValueFrom(of(...states).pipe(gradNormBelow(0.6), toArray()))
    expect(out.map((s) => s.step)).toEqual([0, 1, 2])
    expect(out[2].stopReason).toEqual({ rule: 'gradNormBelow', threshold: 0.6, norm: 0.5 })
  })

  it('paramChangeBelow compares with the previous state', async () => {
    const ps = [
      [0, 0],
      [3, 4],
      [3.3, 4.4],
      [3.31, 4.41],
    ]
    const states = ps.map((p, i) => st(i, 1, { params: p }))
    const out = await lastValueFrom(of(...states).pipe(paramChangeBelow(0.6), toArray()))
    expect(out.map((s) => s.step)).toEqual([0, 1, 2])
    expect(out[2].stopReason!.rule).toBe('paramChangeBelow')
    // ‖(0.3, 0.4)‖ = 0.5, up to the rounding of 3.3 − 3 and 4.4 − 4 (a few ulp)
    expect(out[2].stopReason!.change as number).toBeCloseTo(0.5, 12)
  })

  it('stopOnNonFinite names a non-finite parameter by its path', async () => {
    const states = [
      st(0, NaN, { params: { W: tensor([[1, 2]]) } }),
      st(1, 1, { params: { W: tensor([[1, NaN]]) } }),
    ]
    const out = await lastValueFrom(of(...states).pipe(stopOnNonFinite(), toArray()))
    expect(out).toHaveLength(2)
    expect(out[1].stopReason).toEqual({
      rule: 'stopOnNonFinite',
      field: 'params',
      path: 'W[0,1]',
      value: NaN,
      message: 'params W[0,1] is NaN at step 1',
    })
  })
})

describe('earlyStopping', () => {
  it('stops after `patience` states without improvement by more than minDelta', () => {
    // losses: NaN (initial), 5, 4, 3.95, 3.99, 3.96 → with minDelta 0.1 the last improvement is 4
    const losses = [NaN, 5, 4, 3.95, 3.99, 3.96, 1]
    const { produced, $ } = endless((i) => losses[i] ?? 0)
    const out: TrainState[] = []
    $.pipe(earlyStopping({ patience: 3, minDelta: 0.1 })).subscribe((s) => out.push(s))
    expect(out.map((s) => s.step)).toEqual([0, 1, 2, 3, 4, 5])
    expect(produced.n).toBe(6)
    expect(out[5].stopReason).toEqual({
      rule: 'earlyStopping',
      patience: 3,
      minDelta: 0.1,
      bestLoss: 4,
      bestStep: 1, // the loss of state 2 was measured at state 1's parameters
    })
    expect(out[5].params).toEqual([5])
  })

  it('restoreBest puts the best parameters on the final state', async () => {
    const losses = [NaN, 5, 4, 4.5, 4.6]
    const states = losses.map((l, i) => st(i, l))
    const out = await lastValueFrom(
      of(...states).pipe(earlyStopping({ patience: 2, restoreBest: true }), toArray()),
    )
    expect(out.at(-1)!.step).toBe(4)
    expect(out.at(-1)!.params).toEqual([1]) // params of state 1, where loss 4 was measured
  })

  it('validates', () => {
    expect(() => earlyStopping({ patience: 0 })).toThrow(
      new RangeError('earlyStopping: patience: expected a positive integer, got 0'),
    )
  })
})

describe('timeLimit (marbles)', () => {
  it('completes at the deadline, re-emitting the last state with its reason, and unsubscribes upstream', () => {
    ts().run(({ cold, expectObservable, expectSubscriptions }) => {
      const states = cold('a-b-c-d-e|', {
        a: st(0, NaN),
        b: st(1, 3),
        c: st(2, 2),
        d: st(3, 1),
        e: st(4, 0),
      })
      expectObservable(states.pipe(timeLimit(5))).toBe('a-b-c(C|)', {
        a: st(0, NaN),
        b: st(1, 3),
        c: st(2, 2),
        C: { ...st(2, 2), stopReason: { rule: 'timeLimit', ms: 5, elapsed: 5 } },
      })
      expectSubscriptions(states.subscriptions).toBe('^----!')
    })
  })

  it('a synchronous run is stopped by the clock check at each state; no call after it', () => {
    const clock = { t: 0 }
    const sched: SchedulerLike = {
      now: () => clock.t,
      schedule: asyncScheduler.schedule.bind(asyncScheduler),
    }
    let calls = 0
    const step = pipe(
      gradient((x: number[]) => {
        calls++
        clock.t += 1 // each evaluation "takes" 1 ms
        return { loss: x[0] ** 2, grad: [2 * x[0]] }
      }),
      update(0.1),
    )
    const out: TrainState[] = []
    train({ params: [1], step })
      .pipe(timeLimit(10, sched))
      .subscribe((s) => out.push(s))
    expect(out).toHaveLength(11)
    expect(calls).toBe(10)
    expect(out[10].stopReason).toEqual({ rule: 'timeLimit', ms: 10, elapsed: 10 })
  })
})

describe('stopOn', () => {
  it('completes when the notifier emits, re-emitting the last state with its reason (marbles)', () => {
    ts().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const states = cold('a-b-c-d|', { a: st(0, NaN), b: st(1, 3), c: st(2, 2), d: st(3, 1) })
      const stop = hot('---s')
      expectObservable(states.pipe(stopOn(stop))).toBe('a-b(B|)', {
        a: st(0, NaN),
        b: st(1, 3),
        B: { ...st(1, 3), stopReason: { rule: 'stopOn' } },
      })
      expectSubscriptions(states.subscriptions).toBe('^--!')
      expectSubscriptions(stop.subscriptions).toBe('^--!')
    })
  })

  it('halts a synchronous run when the notifier fires from inside it', () => {
    const stop$ = new Subject<void>()
    let calls = 0
    const step = pipe(
      gradient((x: number[]) => {
        if (++calls === 5) stop$.next()
        return { loss: x[0] ** 2, grad: [2 * x[0]] }
      }),
      update(0.1),
    )
    const out: TrainState[] = []
    train({ params: [1], step })
      .pipe(stopOn(stop$))
      .subscribe((s) => out.push(s))
    expect(calls).toBe(5)
    expect(out.map((s) => s.step)).toEqual([0, 1, 2, 3, 4, 4])
    expect(out.at(-1)!.stopReason).toEqual({ rule: 'stopOn' })
  })
})

describe('rules combine', () => {
  it('the first rule to fire ends the run and its reason stays', async () => {
    const run$ = train({
      params: [1],
      step: pipe(
        gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })),
        update(0.25),
      ),
    })
    // x halves each step: loss of state k = 4^−(k−1); below 1e-3 first at k = 6 (4^−5 ≈ 9.8e-4)
    const last = await lastValueFrom(
      run$.pipe(lossBelow(1e-3), maxSteps(100), gradNormBelow(1e-12)),
    )
    expect(last.step).toBe(6)
    expect(last.stopReason!.rule).toBe('lossBelow')
  })
})

describe('every stopping rule: empty, upstream error, never-ending, early unsubscribe', () => {
  const rules = {
    maxSteps: () => maxSteps(3),
    lossBelow: () => lossBelow(0.5),
    gradNormBelow: () => gradNormBelow(0.5),
    paramChangeBelow: () => paramChangeBelow(0.5),
    earlyStopping: () => earlyStopping({ patience: 2 }),
    stopOnNonFinite: () => stopOnNonFinite(),
    timeLimit: () => timeLimit(60_000),
    stopOn: () => stopOn(new Subject<void>()),
  }
  it.each(Object.entries(rules))('%s', (_, rule) => {
    ts().run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<TrainState>('|')
      expectObservable(empty.pipe(rule())).toBe('|')
      expectSubscriptions(empty.subscriptions).toBe('(^!)')
      const failing = cold<TrainState>('a-#', { a: st(0, NaN) })
      expectObservable(failing.pipe(rule())).toBe('a-#', { a: st(0, NaN) })
      const endless = cold<TrainState>('a---', { a: st(0, NaN) })
      expectObservable(endless.pipe(rule()), '^--!').toBe('a---', { a: st(0, NaN) })
      expectSubscriptions(endless.subscriptions).toBe('^--!')
    })
  })
})
