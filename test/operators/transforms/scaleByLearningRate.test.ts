import { BehaviorSubject, of, Subject } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { applyUpdates } from '../../../operators/transforms/applyUpdates.js'
import { scaleByLearningRate } from '../../../operators/transforms/scaleByLearningRate.js'
import { runSync, withGradientState } from './fixture.js'

describe('scaleByLearningRate', () => {
  it('doc example: one step of w ← w − 0.1·2', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: 2 }), scaleByLearningRate(0.1))
    expect(s.updates).toEqual({ w: -0.2 })
    expect(s.lr).toBe(0.1)
    expect(s.hyper).toEqual({ 'scaleByLearningRate.lr': 0.1 })
    expect(s.opt).toEqual({})
  })

  it('calls a schedule with the step', () => {
    const s = runSync(
      withGradientState({ w: 1 }, { w: 2 }, { step: 4 }),
      scaleByLearningRate((k) => 1 / (k + 1)),
    )
    expect(s.lr).toBe(0.2)
    expect(s.updates).toEqual({ w: -0.4 })
  })

  it("uses an Observable's latest value", () => {
    const lr$ = new BehaviorSubject(0.5)
    const states$ = new Subject<ReturnType<typeof withGradientState<{ w: number }>>>()
    const seen: number[] = []
    states$.pipe(scaleByLearningRate(lr$)).subscribe((s) => seen.push(s.lr))
    states$.next(withGradientState({ w: 1 }, { w: 2 }))
    lr$.next(0.25)
    states$.next(withGradientState({ w: 1 }, { w: 2 }, { step: 1 }))
    expect(seen).toEqual([0.5, 0.25])
  })

  it('errors before an Observable emits', () => {
    expect(() =>
      runSync(withGradientState({ w: 1 }, { w: 2 }), scaleByLearningRate(new Subject<number>())),
    ).toThrow(
      new Error(
        'scaleByLearningRate: lr at step 0: expected the Observable to have emitted, got nothing yet (give it a first value: startWith(x) or a BehaviorSubject)',
      ),
    )
  })

  it('validates', () => {
    expect(() => scaleByLearningRate(-0.1)).toThrow(
      new RangeError('scaleByLearningRate: lr: expected a positive finite number, got -0.1'),
    )
    expect(() => scaleByLearningRate('x' as never)).toThrow(
      new TypeError(
        'scaleByLearningRate: lr: expected a number, a schedule (step) => number or an Observable<number>, got "x"',
      ),
    )
    expect(() =>
      runSync(
        withGradientState({ w: 1 }, { w: 2 }, { step: 3 }),
        scaleByLearningRate(() => NaN),
      ),
    ).toThrow(
      new RangeError(
        'scaleByLearningRate: lr at step 3: expected a non-negative finite number, got NaN',
      ),
    )
  })

  it('rejects a duplicate slot name', () => {
    expect(() =>
      runSync(withGradientState({ w: 1 }, { w: 2 }), (s$) =>
        s$.pipe(scaleByLearningRate(0.1), scaleByLearningRate(0.2)),
      ),
    ).toThrow(
      new Error(
        'scaleByLearningRate: name: expected a slot name no other transform in this step uses, got "scaleByLearningRate" (pass { name } to tell them apart)',
      ),
    )
  })

  it('then applyUpdates: a plain TrainState one step on', () => {
    const s = runSync(withGradientState({ w: 1 }, { w: 2 }), (s$) =>
      s$.pipe(scaleByLearningRate(0.5), applyUpdates()),
    )
    expect(s).toEqual({
      step: 1,
      params: { w: 0 },
      loss: 1,
      grad: { w: 2 },
      lr: 0.5,
      opt: {},
      hyper: { 'scaleByLearningRate.lr': 0.5 },
      evaluations: 0,
      rng: { words: [1, 2, 3, 4], spare: null },
      history: [],
      metrics: {},
    })
    expect(Object.isFrozen(s)).toBe(true)
    void of
  })
})
