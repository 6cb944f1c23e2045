import fc from 'fast-check'
import { BehaviorSubject, map, pipe, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { type Tensor, tensor, train, type TrainState, type WithGradient } from 'gradstream'
import {
  applyUpdates,
  clipByValue,
  ema,
  gradient,
  maxSteps,
  scale,
  scaleByLearningRate,
  scaleByMomentum,
} from 'gradstream/operators'
import {
  initialState,
  runSync,
  template,
  type TreeT,
  treesLike,
  withGradientState,
} from './fixture.js'

// A transform builds its state field by field (src/engine/transform.ts,
// trackedState) instead of spreading the incoming one, and reuses hyper records and slot-name
// lists across steps. These tests pin that nothing a state carries is lost or changed: the
// expected state is written here as the spread it replaces.

const extraField = fc.record(
  {
    batch: fc.constantFrom(undefined, { x: 1 }, [1, 2]),
    note: fc.string({ maxLength: 4 }),
    stopReason: fc.constant({ rule: 'user', message: 'm' }),
  },
  { requiredKeys: [] },
)

describe('a transform on a state', () => {
  it('keeps every field of the incoming state, a user’s own included (as `{ ...s, … }` would)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 2)),
        extraField,
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.constantFrom('scale', 'momentum', 'clip'),
        ([p, g], extra, c, which) => {
          const input = withGradientState(p, g, {
            hyper: { 'other.x': 3 },
            ...(extra as Partial<WithGradient<TreeT>>),
          })
          const t =
            which === 'scale'
              ? scale(c)
              : which === 'momentum'
                ? scaleByMomentum(Math.abs(c) / 2.5)
                : clipByValue(Math.abs(c))
          const out = runSync(input, t) as WithGradient<TreeT> & { transforms: string[] }
          const name = t.transform.name
          const field = Object.keys(t.transform.hyper)[0]
          const value =
            which === 'scale' ? c : which === 'momentum' ? Math.abs(c) / 2.5 : Math.abs(c)
          // the spread the transform replaces, written out
          const expected = {
            ...input,
            updates: out.updates,
            opt: which === 'momentum' ? { [name]: out.opt[name] } : input.opt,
            hyper: { ...input.hyper, [`${name}.${field}`]: value },
            lr: input.lr,
            transforms: [name],
          }
          expect(Object.keys(out).sort()).toEqual(Object.keys(expected).sort())
          for (const k of Object.keys(input)) {
            if (!['updates', 'opt', 'hyper'].includes(k)) {
              expect((out as Record<string, unknown>)[k]).toBe(
                (input as Record<string, unknown>)[k],
              )
            }
          }
          expect(out).toEqual(expected)
          expect(Object.isFrozen(out)).toBe(true)
          expect(Object.isFrozen(out.hyper)).toBe(true)
          expect(Object.isFrozen(out.transforms)).toBe(true)
        },
      ),
    )
  })

  it('ema keeps every field of the incoming TrainState (as `{ ...s, opt, hyper }` would)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        extraField,
        ([p], extra) => {
          const input = {
            ...initialState(p),
            opt: { other: 1 },
            hyper: { 'other.x': 3 },
            ...extra,
          } as TrainState<TreeT>
          const out = runSync(input, ema(0.5))
          const expected = {
            ...input,
            opt: { other: 1, ema: { average: p, step: 0 } },
            hyper: { 'other.x': 3, 'ema.decay': 0.5 },
          }
          expect(Object.keys(out).sort()).toEqual(Object.keys(expected).sort())
          expect(out).toEqual(expected)
          expect(Object.isFrozen(out)).toBe(true)
          expect(Object.isFrozen(out.opt)).toBe(true)
          expect(Object.isFrozen(out.hyper)).toBe(true)
        },
      ),
    )
  })

  it('records a hyperparameter that changes mid-run at its step, through a hand-written pipe', () => {
    const beta = new BehaviorSubject(0.5)
    const f = (_: Tensor) => ({ loss: 0, grad: tensor([1]) })
    let out: TrainState<Tensor>[] = []
    train({
      params: tensor([0]),
      step: pipe(gradient(f), scaleByMomentum(beta), scaleByLearningRate(1), applyUpdates()),
    })
      .pipe(
        map((s) => {
          if (s.step === 2) beta.next(0.25)
          return s
        }),
        maxSteps(4),
        toArray(),
      )
      .subscribe((v) => (out = v))
    expect(out.map((s) => s.hyper['scaleByMomentum.beta'])).toEqual([
      undefined,
      0.5,
      0.5,
      0.25,
      0.25,
    ])
    expect(out.map((s) => s.hyper['scaleByLearningRate.lr'])).toEqual([undefined, 1, 1, 1, 1])
    // v: 1, 1.5, 1.375, 1.34375 (v ← β·v + 1); θ = −Σ v, written anew here
    expect(out.map((s) => s.params.data[0])).toEqual([0, -1, -2.5, -3.875, -5.21875])
  })
})
