import { BehaviorSubject, map, pipe, take } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { chunked, pausable, train, type TrainState } from 'gradstream'
import { gradient, maxSteps, update } from 'gradstream/operators'

// x ← x − lr·2x on f(x) = x², with an analytic gradient: one evaluation a step.
const quadratic = (lr: Parameters<typeof update>[0]) =>
  pipe(
    gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })),
    update(lr),
  )
const steps = map((s: TrainState) => s.step)
const ts = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
const digits = { a: 0, b: 1, c: 2, d: 3, e: 4, f: 5, g: 6 }

describe('train modes (marbles)', () => {
  it('chunked: the initial state at once, then `steps` states per chunk, each after `delay`', () => {
    ts().run(({ expectObservable }) => {
      const run$ = train({
        params: [1],
        step: quadratic(0.1),
        mode: chunked({ steps: 2, delay: 10 }), // default scheduler (asyncScheduler), virtualised
      })
      expectObservable(run$.pipe(steps, take(7))).toBe('a 9ms (bc) 6ms (de) 6ms (fg|)', digits)
    })
  })

  it('chunked with an Observable data source: one batch a step, only inside chunks; data unsubscribed with the run', () => {
    ts().run(({ cold, expectObservable, expectSubscriptions }) => {
      // all six batches arrive at frame 0, before the first chunk: they wait for it
      const data = cold('(uvwxyz)', { u: 1, v: 2, w: 3, x: 4, y: 5, z: 6 })
      const run$ = train({
        params: [0],
        data,
        step: pipe(
          gradient((p: number[], b: number) => ({ loss: (p[0] - b) ** 2, grad: [2 * (p[0] - b)] })),
          update(0.5), // x ← b: each step lands on its batch
        ),
        mode: chunked({ steps: 2, delay: 10 }),
      })
      expectObservable(
        run$.pipe(
          maxSteps(6),
          map((s) => s.params[0]),
        ),
      ).toBe('a 9ms (bc) 6ms (de) 6ms (fg|)', { a: 0, b: 1, c: 2, d: 3, e: 4, f: 5, g: 6 })
      expectSubscriptions(data.subscriptions).toBe('^ 29ms !')
    })
  })

  it('pause/resume from an Observable<boolean>; subscribed and unsubscribed with the run', () => {
    ts().run(({ hot, expectObservable, expectSubscriptions }) => {
      const paused$ = hot('--t---f', { t: true, f: false })
      const run$ = train({
        params: [1],
        step: quadratic(0.1),
        mode: pausable(paused$, chunked({ steps: 1, delay: 1 })),
      })
      expectObservable(run$.pipe(steps, take(5))).toBe('ab-----cd(e|)', digits)
      expectSubscriptions(paused$.subscriptions).toBe('^--------!')
    })
  })

  it('an Observable learning rate: its latest value is used at each step', () => {
    ts().run(({ cold, expectObservable, expectSubscriptions }) => {
      const lr$ = cold('a--b', { a: 0.1, b: 0.01 })
      const run$ = train({
        params: [1],
        step: quadratic(lr$),
        mode: chunked({ steps: 1, delay: 1 }),
      })
      expectObservable(
        run$.pipe(
          map((s) => s.lr),
          take(5),
        ),
      ).toBe('xaab(b|)', {
        x: NaN,
        a: 0.1,
        b: 0.01,
      })
      expectSubscriptions(lr$.subscriptions).toBe('^---!')
    })
  })

  it('an Observable learning rate changed synchronously mid-run (sync mode)', () => {
    const lr$ = new BehaviorSubject(0.25)
    const xs: number[] = []
    train({ params: [1], step: quadratic(lr$) })
      .pipe(take(4))
      .subscribe((s) => {
        xs.push(s.params[0])
        if (s.step === 1) lr$.next(0.5) // x ← x − 0.5·2x = 0: the next step lands at 0
      })
    // x ← x − 0.25·2x = x/2, then 0
    expect(xs).toEqual([1, 0.5, 0, 0])
    expect(lr$.observed).toBe(false)
  })

  it('pause in sync mode: resumes in the emitter’s turn', () => {
    const paused$ = new BehaviorSubject(true)
    const seen: number[] = []
    const sub = train({ params: [1], step: quadratic(0.1), mode: pausable(paused$) })
      .pipe(take(3))
      .subscribe((s) => seen.push(s.step))
    expect(seen).toEqual([0])
    paused$.next(false)
    expect(seen).toEqual([0, 1, 2])
    expect(sub.closed).toBe(true)
    expect(paused$.observed).toBe(false)
  })
})

describe('no timers or handles left behind', () => {
  afterEach(() => vi.useRealTimers())

  it('chunked: unsubscribing cancels the pending chunk; no evaluation after it', () => {
    vi.useFakeTimers()
    let calls = 0
    const step = pipe(
      gradient((x: number[]) => {
        calls++
        return { loss: x[0] ** 2, grad: [2 * x[0]] }
      }),
      update(0.1),
    )
    const sub = train({ params: [1], step, mode: chunked({ steps: 10 }) }).subscribe()
    expect(calls).toBe(0)
    vi.advanceTimersByTime(0)
    expect(calls).toBe(10)
    expect(vi.getTimerCount()).toBe(1) // the next chunk
    sub.unsubscribe()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(1000)
    expect(calls).toBe(10)
  })

  it('chunked: completing by take leaves no timer', () => {
    vi.useFakeTimers()
    const seen: number[] = []
    train({ params: [1], step: quadratic(0.1), mode: chunked({ steps: 3 }) })
      .pipe(take(5))
      .subscribe((s) => seen.push(s.step))
    vi.advanceTimersByTime(0)
    expect(seen).toEqual([0, 1, 2, 3])
    vi.advanceTimersByTime(10)
    expect(seen).toEqual([0, 1, 2, 3, 4])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('validates chunked and pausable', () => {
    expect(() => chunked({ steps: 0 })).toThrow(
      new RangeError('chunked: steps: expected a positive integer, got 0'),
    )
    expect(() => chunked({ delay: -1 })).toThrow(
      new RangeError('chunked: delay: expected a non-negative finite number, got -1'),
    )
    expect(() => pausable(1 as never)).toThrow(
      new TypeError('pausable: paused$: expected an Observable<boolean>, got 1'),
    )
  })
})
