import fc from 'fast-check'
import { map, pipe, type Observable } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { train, TrainError, type TrainState } from 'gradstream'
import {
  earlyStopping,
  gradient,
  gradNormBelow,
  lossBelow,
  maxSteps,
  paramChangeBelow,
  stopOnNonFinite,
  update,
} from 'gradstream/operators'
import { StoppableRun } from '../../src/engine/fusion.js'

// Stopping rules built on stopWhen run inside `train`'s loop when piped straight onto the run
// (src/engine/fusion.ts, StoppableRun) instead of as map + takeWhile per state. These
// tests pin that this is invisible: the same rules behind a user's operator (not fused) give
// the same states, the same completion and the same objective calls.

type S = TrainState<number[]>
type Rule = (source: Observable<S>) => Observable<S>

/** f(x) = a·(x − c)², analytic gradient; counts its calls */
function problem(a: number, c: number, lr: number) {
  const calls = { n: 0 }
  const step = pipe(
    gradient((x: number[]) => {
      calls.n++
      return { loss: a * (x[0] - c) ** 2, grad: [2 * a * (x[0] - c)] }
    }),
    update(lr),
  )
  return { calls, step }
}

const runOf = (stepOp: ReturnType<typeof problem>['step'], x0: number) =>
  train({ params: [x0], step: stepOp })

function collect(run$: Observable<S>) {
  const states: S[] = []
  let completed = false
  let error: unknown
  run$.subscribe({
    next: (s) => states.push(s),
    complete: () => (completed = true),
    error: (e) => (error = e),
  })
  return { states, completed, error }
}

describe('stopping rules fused into the run', () => {
  it('piped straight onto train they become stops of the run; behind another operator they stay operators', () => {
    const { step } = problem(1, 0, 0.1)
    const fused = runOf(step, 1).pipe(maxSteps(5), lossBelow(1e-3))
    expect(fused).toBeInstanceOf(StoppableRun)
    expect((fused as StoppableRun<S>).stops).toHaveLength(2)
    expect(
      runOf(step, 1).pipe(
        map((s) => s),
        maxSteps(5),
      ),
    ).not.toBeInstanceOf(StoppableRun)
  })

  it('give the states, completion and objective calls of the same rules unfused (random rules)', () => {
    const threshold = fc.double({ min: 1e-6, max: 1, noNaN: true })
    const rule: fc.Arbitrary<Rule> = fc.oneof(
      fc.integer({ min: 0, max: 30 }).map((k) => maxSteps(k) as Rule),
      threshold.map((t) => lossBelow(t) as Rule),
      threshold.map((t) => gradNormBelow(t) as Rule),
      threshold.map((t) => paramChangeBelow(t) as Rule),
      fc
        .record({
          patience: fc.integer({ min: 1, max: 3 }),
          minDelta: fc.double({ min: 0, max: 0.1, noNaN: true }),
          restoreBest: fc.boolean(),
        })
        .map((o) => earlyStopping(o) as Rule),
      fc.constant(stopOnNonFinite() as Rule),
    )
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 3, noNaN: true }),
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.double({ min: 0.01, max: 1.2, noNaN: true }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.array(rule, { minLength: 1, maxLength: 3 }),
        (a, c, lr, x0, rules) => {
          const all = [...rules, maxSteps(40) as Rule] // a guard: every run ends
          const go = (cut: boolean) => {
            const { calls, step } = problem(a, c, lr)
            const head = runOf(step, x0)
            const start = cut ? head.pipe(map((s) => s)) : head
            const out = collect(all.reduce((o, r) => r(o), start))
            return { ...out, calls: calls.n }
          }
          const fused = go(false)
          const cut = go(true)
          expect(fused.completed).toBe(true)
          expect(cut).toEqual(fused)
          expect(fused.states.at(-1)!.stopReason).toBeDefined()
        },
      ),
    )
  })

  it('maxSteps(0): the initial state with its reason, and no step is computed', () => {
    const { calls, step } = problem(1, 0, 0.1)
    const out = collect(runOf(step, 1).pipe(maxSteps(0)))
    expect(out.states.map((s) => s.step)).toEqual([0])
    expect(out.states[0].stopReason).toEqual({ rule: 'maxSteps', steps: 0 })
    expect(Object.isFrozen(out.states[0])).toBe(true)
    expect(out.completed).toBe(true)
    expect(calls.n).toBe(0)
  })

  it('a rule that throws errors the stream with its own error (not a TrainError), and the run stops', () => {
    const go = (cut: boolean) => {
      const { calls, step } = problem(1, 0, 0.1)
      const monitor = (s: TrainState) => {
        if (s.step === 3) throw new Error('monitor broke')
        return s.loss
      }
      const head = runOf(step, 1)
      const out = collect(
        (cut ? head.pipe(map((s) => s)) : head).pipe(earlyStopping({ patience: 2, monitor })),
      )
      return { ...out, calls: calls.n }
    }
    const fused = go(false)
    expect(fused.states.map((s) => s.step)).toEqual([0, 1, 2])
    expect(fused.error).not.toBeInstanceOf(TrainError)
    expect((fused.error as Error).message).toBe('monitor broke')
    expect(fused.calls).toBe(3)
    expect(go(true)).toEqual(fused)
  })
})
