import { map } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { scaleByAdam, scaleByLearningRate } from 'gradstream/operators'
import { withGradientState } from '../operators/transforms/fixture.js'

// Marble tests for Observable hyperparameters: each state uses the latest value emitted so far;
// the hyperparameter Observable is subscribed with the step and unsubscribed with it.
const base = withGradientState({ w: 1 }, { w: 2 })
const at = (step: number) => ({ ...base, step })

describe('Observable hyperparameters', () => {
  const ts = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

  it('uses the latest value at each state and unsubscribes with the stream', () => {
    ts().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const lr$ = hot('   -x---y---', { x: 0.5, y: 0.25 })
      const states = cold('--a-b-c-|', { a: at(0), b: at(1), c: at(2) })
      const out = states.pipe(
        scaleByLearningRate(lr$),
        map((s) => [s.lr, s.updates.w]),
      )
      expectObservable(out).toBe('--a-b-c-|', { a: [0.5, -1], b: [0.5, -1], c: [0.25, -0.5] })
      expectSubscriptions(lr$.subscriptions).toBe('^-------!')
    })
  })

  it('errors a state that comes before the first value, naming field and step', () => {
    ts().run(({ cold, hot, expectObservable }) => {
      const b1$ = hot('---x', { x: 0.5 })
      const states = cold('a--b|', { a: at(3), b: at(4) })
      expectObservable(states.pipe(scaleByAdam({ b1: b1$ }))).toBe(
        '#',
        undefined,
        new Error(
          'scaleByAdam: b1 at step 3: expected the Observable to have emitted, got nothing yet (give it a first value: startWith(x) or a BehaviorSubject)',
        ),
      )
    })
  })

  it('keeps the last value after the Observable completes; a value out of range errors the stream', () => {
    ts().run(({ cold, expectObservable }) => {
      const lr$ = cold('x|', { x: 0.5 })
      const states = cold('--a--b|', { a: at(0), b: at(1) })
      expectObservable(
        states.pipe(
          scaleByLearningRate(lr$),
          map((s) => s.lr),
        ),
      ).toBe('--a--b|', {
        a: 0.5,
        b: 0.5,
      })
      const bad$ = cold('x', { x: -1 })
      expectObservable(states.pipe(scaleByLearningRate(bad$))).toBe(
        '--#',
        undefined,
        new RangeError(
          'scaleByLearningRate: lr at step 0: expected a non-negative finite number, got -1',
        ),
      )
    })
  })

  it("an Observable's error becomes the stream's error", () => {
    ts().run(({ cold, expectObservable }) => {
      const lr$ = cold('x-#', { x: 0.5 }, new Error('slider gone'))
      const states = cold('a---b|', { a: at(0), b: at(1) })
      expectObservable(
        states.pipe(
          scaleByLearningRate(lr$),
          map((s) => s.lr),
        ),
      ).toBe('a-#', { a: 0.5 }, new Error('slider gone'))
    })
  })
})
