import { Observable, Subject, of, take, throwError, concat } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe as group, expect, it } from 'vitest'
import { checkpointEvery } from '../../operators/checkpointEvery.js'
import { rng } from '../../src/random/rng.js'
import { restore } from '../../src/state/checkpoint.js'
import type { TrainState } from '../../src/state/types.js'
import { thrown } from '../helpers/thrown.js'

const at = (step: number): TrainState => ({
  step,
  params: { w: step / 10 },
  loss: step === 0 ? NaN : 1 / step,
  grad: step === 0 ? null : { w: -step },
  lr: step === 0 ? NaN : 0.1,
  opt: {},
  hyper: {},
  evaluations: 2 * step,
  rng: rng(step).state(),
  history: [],
  metrics: {},
})
const states = (...steps: number[]) => of(...steps.map(at))

group('checkpointEvery', () => {
  it('documents its example: writes multiples of k, then the last state on completion', () => {
    const written: number[] = []
    const seen: number[] = []
    states(0, 1, 2, 3, 4, 5)
      .pipe(checkpointEvery({ steps: 2 }, (json) => written.push(restore(json).step)))
      .subscribe((s) => seen.push(s.step))
    expect(written).toEqual([2, 4, 5])
    expect(seen).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('hands the sink the JSON of exactly the state it passes on', () => {
    const pairs: [string, TrainState][] = []
    states(0, 1, 2)
      .pipe(checkpointEvery({ steps: 1 }, (json, s) => pairs.push([json, s])))
      .subscribe()
    expect(pairs.map(([, s]) => s.step)).toEqual([1, 2])
    for (const [json, s] of pairs) expect(restore(json)).toStrictEqual(s)
  })

  it('does not write the state it started from (a resumed run), nor twice the same state', () => {
    const written: number[] = []
    states(4, 5, 6)
      .pipe(checkpointEvery({ steps: 2 }, (_, s) => written.push(s.step)))
      .subscribe()
    expect(written).toEqual([6])
  })

  it('with final: false writes only at the interval', () => {
    const written: number[] = []
    states(0, 1, 2, 3)
      .pipe(checkpointEvery({ steps: 2, final: false }, (_, s) => written.push(s.step)))
      .subscribe()
    expect(written).toEqual([2])
  })

  it('writes the last good state when the stream errors, then errors', () => {
    const written: number[] = []
    let error: unknown
    concat(
      states(0, 1, 2, 3),
      throwError(() => new Error('objective failed')),
    )
      .pipe(checkpointEvery({ steps: 2 }, (_, s) => written.push(s.step)))
      .subscribe({ error: (e) => (error = e) })
    expect(written).toEqual([2, 3])
    expect((error as Error).message).toBe('objective failed')
  })

  it('writes the last state when unsubscribed (Ctrl-C) and stops a synchronous source', () => {
    const written: number[] = []
    let produced = 0
    const endless$ = new Observable<TrainState>((s) => {
      for (let i = 0; !s.closed; i++) (produced++, s.next(at(i)))
    })
    endless$
      .pipe(
        checkpointEvery({ steps: 10 }, (_, s) => written.push(s.step)),
        take(4),
      )
      .subscribe()
    expect(produced).toBe(4)
    expect(written).toEqual([3])
    const manual = new Subject<TrainState>()
    const sub = manual
      .pipe(checkpointEvery({ steps: 10 }, (_, s) => written.push(s.step)))
      .subscribe()
    manual.next(at(0))
    manual.next(at(1))
    sub.unsubscribe()
    expect(written).toEqual([3, 1])
    expect(manual.observed).toBe(false)
  })

  it('turns a throwing sink into the stream’s error', () => {
    let error: unknown
    states(0, 1, 2)
      .pipe(
        checkpointEvery({ steps: 1 }, () => {
          throw new Error('disk full')
        }),
      )
      .subscribe({ error: (e) => (error = e) })
    expect((error as Error).message).toBe('disk full')
  })

  it('writes by time: the first state at least ms after the previous write (marbles)', () => {
    const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const written: number[] = []
      const src = cold('a-b-c-d-e-f|', {
        a: at(0),
        b: at(1),
        c: at(2),
        d: at(3),
        e: at(4),
        f: at(5),
      })
      const out = src.pipe(
        checkpointEvery({ ms: 3, scheduler: ts }, (_, s) => written.push(s.step)),
      )
      expectObservable(out).toBe('a-b-c-d-e-f|', {
        a: at(0),
        b: at(1),
        c: at(2),
        d: at(3),
        e: at(4),
        f: at(5),
      })
      expectSubscriptions(src.subscriptions).toBe('^----------!')
      ts.flush()
      // written at frame 4 (c: 4 ≥ 3 after start 0), frame 8 (e: 8 − 4 ≥ 3), then f on completion
      expect(written).toEqual([2, 4, 5])
    })
  })

  it('validates its arguments when built', () => {
    const sink = () => {}
    expect(thrown(() => checkpointEvery({ steps: 0 }, sink))).toBe(
      'RangeError: checkpointEvery: every.steps: expected a positive integer, got 0',
    )
    expect(thrown(() => checkpointEvery({ ms: -5 }, sink))).toBe(
      'RangeError: checkpointEvery: every.ms: expected a positive finite number, got -5',
    )
    expect(thrown(() => checkpointEvery({ step: 5 } as never, sink))).toBe(
      'TypeError: checkpointEvery: every: expected { steps } or { ms }, got an object',
    )
    expect(thrown(() => checkpointEvery({ steps: 5, final: 'yes' } as never, sink))).toBe(
      'TypeError: checkpointEvery: every.final: expected a boolean, got "yes"',
    )
    expect(thrown(() => checkpointEvery({ steps: 5 }, undefined as never))).toBe(
      'TypeError: checkpointEvery: sink: expected a function, got undefined',
    )
  })
})
