import { pipe, startWith, Subject, take, tap, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { type Params, train, type TrainState } from 'gradstream'
import { checkpoint, restore } from '../../../src/state/checkpoint.js'
import {
  adam,
  addNoise,
  applyUpdates,
  clipByGlobalNorm,
  ema,
  lookahead,
  gradient,
  maxSteps,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
} from 'gradstream/operators'

type W = { w: number }
const f = ({ w }: W) => ({ loss: w * w, grad: { w: 2 * w } })

function collect<P extends Params>(s$: import('rxjs').Observable<TrainState<P>>) {
  let out: TrainState<P>[] = []
  let error: unknown
  s$.pipe(toArray()).subscribe({ next: (v) => (out = v), error: (e) => (error = e) })
  return { out, error }
}

describe('optimizers inside train', () => {
  it('a slider (plain Subject, first value by startWith) changes the learning rate mid-run', () => {
    const slider = new Subject<number>()
    const step = pipe(gradient(f), sgd(slider.pipe(startWith(0.1))))
    const { out } = collect(
      train({ params: { w: 1 } as W, step }).pipe(
        tap((s) => s.step === 3 && slider.next(0.25)),
        maxSteps(6),
      ),
    )
    expect(out.map((s) => s.lr)).toEqual([NaN, 0.1, 0.1, 0.1, 0.25, 0.25, 0.25])
    expect(out.map((s) => s.hyper['scaleByLearningRate.lr'])).toEqual([
      undefined,
      0.1,
      0.1,
      0.1,
      0.25,
      0.25,
      0.25,
    ])
    // w ← w + (−η)·2w, with the η each step used
    let w = 1
    for (const lr of [0.1, 0.1, 0.1, 0.25, 0.25, 0.25]) w = w + -lr * (2 * w)
    expect(out[6].params.w).toBe(w)
    expect(slider.observed).toBe(false) // unsubscribed when the run ended
  })

  it('a run stopped by maxSteps leaves the optimizer slots and hyperparameters in its last state', () => {
    const { out } = collect(
      train({ params: { w: 1 } as W, step: pipe(gradient(f), adam(0.1)) }).pipe(maxSteps(3)),
    )
    expect(Object.keys(out[3].opt)).toEqual(['scaleByAdam'])
    expect(out[3].opt.scaleByAdam).toMatchObject({ count: 3 })
    expect(Object.isFrozen(out[3].opt.scaleByAdam)).toBe(true)
  })

  it('an Observable hyperparameter with no value yet errors the run at its first step', () => {
    const { error } = collect(
      train({ params: { w: 1 } as W, step: pipe(gradient(f), sgd(new Subject<number>())) }),
    )
    expect((error as Error).message).toBe(
      'train: step 1: scaleByLearningRate: lr at step 0: expected the Observable to have emitted, got nothing yet (give it a first value: startWith(x) or a BehaviorSubject)',
    )
  })

  it('two transforms with one slot name fail the run with a message naming it', () => {
    const step = pipe(
      gradient(f),
      scaleByAdam(),
      scaleByAdam(),
      scaleByLearningRate(0.1),
      applyUpdates(),
    )
    const { error } = collect(train({ params: { w: 1 } as W, step }).pipe(take(3)))
    expect((error as Error).message).toBe(
      'train: step 1: scaleByAdam: name: expected a slot name no other transform in this step uses, got "scaleByAdam" (pass { name } to tell them apart)',
    )
    // renamed, both run and keep separate slots
    const ok = pipe(
      gradient(f),
      scaleByAdam(),
      scaleByAdam({ name: 'adam2' }),
      scaleByLearningRate(0.1),
      applyUpdates(),
    )
    const { out } = collect(train({ params: { w: 1 } as W, step: ok }).pipe(maxSteps(1)))
    expect(Object.keys(out[1].opt).sort()).toEqual(['adam2', 'scaleByAdam'])
  })

  it('a run resumed from a JSON checkpoint (train({ from })) continues bit for bit', () => {
    const step = () =>
      pipe(
        gradient(f),
        addNoise({ seed: 5, eta: 0.1 }),
        clipByGlobalNorm(1),
        lookahead(adam(0.05), { k: 4 }),
        applyUpdates(),
        ema(0.9),
      )
    const whole = collect(train({ params: { w: 1 } as W, step: step() }).pipe(maxSteps(12))).out
    const json = checkpoint(whole[5] as TrainState)
    const resumed = collect(
      train({ params: { w: 0 } as W, from: restore(json) as TrainState<W>, step: step() }).pipe(
        maxSteps(12),
      ),
    ).out
    expect(resumed.map((s) => s.step)).toEqual([5, 6, 7, 8, 9, 10, 11, 12])
    expect(resumed.map((s) => s.params.w)).toEqual(whole.slice(5).map((s) => s.params.w))
    expect(resumed[7].opt).toEqual(whole[12].opt)
    expect(resumed[7].hyper).toEqual(whole[12].hyper)
  })

  it('a mis-ordered pipe does not type-check', () => {
    // transforms need the gradient stage's `updates`; applyUpdates ends the step
    // @ts-expect-error a TrainState has no updates for scaleByAdam
    pipe(gradient(f), applyUpdates(), scaleByAdam())
    // @ts-expect-error an optimizer needs a WithGradient state, not the step's input
    train({ params: { w: 1 } as W, step: sgd(0.1) })
  })
})
