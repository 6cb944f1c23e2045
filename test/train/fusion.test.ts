import fc from 'fast-check'
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
  type Observable,
  type OperatorFunction,
} from 'rxjs'
import { describe, expect, it } from 'vitest'
import { tensor, train, TrainError, type Tensor, type TrainState } from 'gradstream'
import {
  centralDifference,
  forwardDifference,
  gaussian,
  gradient,
  loss,
  perturb,
  spsa,
  update,
  type PerturbationDesign,
} from 'gradstream/operators'
import { FusedStages } from '../../src/engine/fusion.js'
import { bookStep, counted, start } from './problem.js'

// Stage fusion (src/engine/fusion.ts): adjacent stages compose into one function, which
// `train` calls directly when the whole step is stages. These tests pin that fusion is invisible:
// with a user's operator between stages (no fusion there) the stream is the same, state for state.

/** A user's operator that changes nothing, to put between stages (it stops fusion there). */
const passThrough = <T>(): OperatorFunction<T, T> => map((s: T) => s)

type Lr = 'number' | 'schedule' | 'observable'
const lrOf = (kind: Lr, v: number) =>
  kind === 'number' ? v : kind === 'schedule' ? (k: number) => v / (1 + k) : new BehaviorSubject(v)

/** Σ (i+1)·(xᵢ − 1)², on any length */
const bowl = (x: Tensor) => {
  let s = 0
  for (let i = 0; i < x.data.length; i++) s += (i + 1) * (x.data[i] - 1) ** 2
  return s
}

/** the stages, with `passThrough()` after those `breaks` names, then `tail` */
function step(
  design: PerturbationDesign,
  lr: number | ((k: number) => number) | Observable<number>,
  breaks: readonly boolean[],
  f: (x: Tensor) => number,
  tail: OperatorFunction<TrainState<Tensor>, TrainState<Tensor>> = identity,
): OperatorFunction<TrainState<Tensor>, TrainState<Tensor>> {
  const b = <T>(i: number): OperatorFunction<T, T> => (breaks[i] ? passThrough<T>() : identity)
  return pipe(perturb<Tensor>(design), b(0), loss(f), b(1), gradient(), b(2), update(lr), tail)
}

describe('stage fusion', () => {
  it('adjacent stages become one chain over the source; any other operator starts a new one', () => {
    const src = of(0) as unknown as Observable<TrainState<Tensor>>
    const whole = bookStep(bowl)(src)
    expect(whole).toBeInstanceOf(FusedStages)
    expect((whole as FusedStages<unknown>).base).toBe(src)
    expect((whole as FusedStages<unknown>).factories).toHaveLength(4)

    const first = src.pipe(perturb<Tensor>(centralDifference()), loss(bowl))
    const cut = first.pipe(passThrough())
    const rest = cut.pipe(gradient(), update(0.1))
    expect((rest as FusedStages<unknown>).base).toBe(cut)
    expect((rest as FusedStages<unknown>).factories).toHaveLength(2)
    // piping on a chain does not change it
    first.pipe(gradient())
    expect((first as FusedStages<unknown>).factories).toHaveLength(2)
  })

  it('fused and unfused steps give the same stream, state for state (random pipelines)', () => {
    const designs = fc.oneof(
      fc.constant(centralDifference()),
      fc.constant(forwardDifference({ h: 1e-3 })),
      fc.integer({ min: 1, max: 3 }).map((samples) => spsa({ c: 1e-3, samples })),
      fc
        .record({ samples: fc.integer({ min: 1, max: 3 }), antithetic: fc.boolean() })
        .map((o) => gaussian({ sigma: 1e-2, ...o })),
    )
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 1, maxLength: 4 }),
        designs,
        fc.constantFrom<Lr>('number', 'schedule', 'observable'),
        fc.double({ min: 0.01, max: 0.2, noNaN: true }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (x0, design, lrKind, lrValue, breaks, withTail, seed) => {
          const run = (br: readonly boolean[], tail: boolean) => {
            const calls = { n: 0 }
            const f = (x: Tensor) => (calls.n++, bowl(x))
            const states: TrainState<Tensor>[] = []
            train({
              params: tensor(x0),
              seed,
              step: step(design, lrOf(lrKind, lrValue), br, f, tail ? passThrough() : identity),
            })
              .pipe(take(6))
              .subscribe((s) => states.push(s))
            return { states, calls: calls.n }
          }
          const fused = run([false, false, false], false)
          const other = run(breaks, withTail)
          expect(fused.states).toHaveLength(6)
          expect(other.states).toEqual(fused.states)
          expect(other.calls).toBe(fused.calls)
          for (const s of [...fused.states, ...other.states]) {
            expect(Object.isFrozen(s)).toBe(true)
            expect(Object.isFrozen(s.params)).toBe(true)
          }
        },
      ),
    )
  })

  it("a user's operator between stages sees frozen stage states, and the run is unchanged", () => {
    const seen: unknown[] = []
    const cut = train({
      params: start(),
      step: pipe(
        perturb<Tensor>(centralDifference()),
        tap((s) => seen.push(s)),
        loss(bowl),
        gradient(),
        update(0.1),
      ),
    })
    const whole = train({ params: start(), step: bookStep(bowl) })
    const a: TrainState<Tensor>[] = []
    const b: TrainState<Tensor>[] = []
    cut.pipe(take(4)).subscribe((s) => a.push(s))
    whole.pipe(take(4)).subscribe((s) => b.push(s))
    expect(a).toEqual(b)
    expect(seen).toHaveLength(3)
    for (const s of seen) {
      expect(Object.isFrozen(s)).toBe(true)
      expect((s as { probes: unknown }).probes).toEqual({ kind: 'central', h: 1e-4, n: 2 })
    }
  })

  it('a step that also subscribes its input elsewhere: that subscriber sees every state fed in', () => {
    const fed: number[] = []
    const states: number[] = []
    train({
      params: start(),
      step: (s$) => {
        s$.subscribe((s) => fed.push(s.step))
        return bookStep(bowl)(s$)
      },
    })
      .pipe(take(4))
      .subscribe((s) => states.push(s.step))
    expect(states).toEqual([0, 1, 2, 3])
    expect(fed).toEqual([0, 1, 2])
  })

  it('a chain that ends before update emits frozen states, each with its own losses array', async () => {
    const s0 = await lastValueFrom(train({ params: start(), step: bookStep(bowl) }).pipe(take(1)))
    const out = await lastValueFrom(
      of(s0, s0, s0).pipe(perturb<Tensor>(centralDifference()), loss(bowl), toArray()),
    )
    expect(out).toHaveLength(3)
    expect(new Set(out.map((s) => s.losses)).size).toBe(3)
    for (const s of out) {
      expect(Object.isFrozen(s)).toBe(true)
      // f at (−3 ± h, 4) and (−3, 4 ± h), h = 1e-4: bowl = (x0 − 1)² + 2(x1 − 1)²
      const h = 1e-4
      expect(s.losses[0]).toBe((-3 + h - 1) ** 2 + 2 * 9)
      expect(s.baseLoss).toBe(16 + 18)
    }
  })

  describe('errors in a fused step are reported as before', () => {
    const throwsAt = (k: number) => (x: number[]) => {
      if (x[0] === k) throw new Error(`boom at ${k}`)
      return { loss: 0, grad: [-1] } // x ← x + 1 with lr 1: x is the step number
    }
    const outcome = (stepOp: OperatorFunction<TrainState<number[]>, TrainState<number[]>>) => {
      const seen: number[] = []
      let error: unknown
      train({ params: [0], step: stepOp }).subscribe({
        next: (s) => seen.push(s.step),
        error: (e) => (error = e),
      })
      return { seen, error: error as TrainError<TrainState<number[]>> }
    }

    it('a throwing gradient(fn): TrainError with the step and the last good state', () => {
      const fused = outcome(pipe(gradient(throwsAt(3)), update(1)))
      const cut = outcome(pipe(gradient(throwsAt(3)), passThrough(), update(1)))
      expect(fused.seen).toEqual([0, 1, 2, 3])
      expect(fused.error).toBeInstanceOf(TrainError)
      expect(fused.error.step).toBe(4)
      expect(fused.error.lastState.params).toEqual([3])
      expect(fused.error.message).toBe('train: step 4: boom at 3')
      expect(cut.seen).toEqual(fused.seen)
      expect(cut.error.message).toBe(fused.error.message)
      expect(cut.error.lastState).toEqual(fused.error.lastState)
    })

    it('a schedule giving a bad η at step 2', () => {
      const lr = (k: number) => (k === 2 ? -1 : 1)
      const fused = outcome(pipe(gradient(throwsAt(-1)), update(lr)))
      const cut = outcome(pipe(gradient(throwsAt(-1)), passThrough(), update(lr)))
      expect(fused.seen).toEqual([0, 1, 2])
      expect(fused.error.step).toBe(3)
      expect(fused.error.message).toBe(
        'train: step 3: scaleByLearningRate: lr at step 2: expected a non-negative finite number, got -1',
      )
      expect(cut.error.message).toBe(fused.error.message)
    })

    it('an Observable η that errors mid-run errors the run and is unsubscribed', () => {
      const run = (cutIt: boolean) => {
        const lr$ = new BehaviorSubject(1)
        const fn = (x: number[]) => {
          if (x[0] === 2) lr$.error(new Error('slider gone'))
          return { loss: 0, grad: [-1] }
        }
        const r = outcome(
          cutIt ? pipe(gradient(fn), passThrough(), update(lr$)) : pipe(gradient(fn), update(lr$)),
        )
        return { ...r, observed: lr$.observed }
      }
      const fused = run(false)
      const cut = run(true)
      expect(fused.seen).toEqual([0, 1, 2])
      expect(fused.error.message).toBe('train: step 3: slider gone')
      expect(fused.error.lastState.step).toBe(2)
      expect(fused.observed).toBe(false)
      expect(cut).toEqual(fused)
    })
  })

  it('an Observable η is subscribed once per run and unsubscribed when the run stops', () => {
    const lr$ = new BehaviorSubject(0.1)
    const { f } = counted()
    const run$ = train({ params: start(), step: bookStep(f, lr$ as never) })
    let subscribed = false
    run$.pipe(take(3)).subscribe(() => (subscribed ||= lr$.observed))
    expect(subscribed).toBe(true)
    expect(lr$.observed).toBe(false)
  })
})
