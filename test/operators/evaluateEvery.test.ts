import { of, type Observable, throwError, toArray as collect } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { evaluateEvery } from '../../operators/evaluateEvery.js'
import type { TrainState } from '../../src/state/types.js'

const state = (step: number, metrics: Record<string, number> = {}): TrainState =>
  Object.freeze({
    step,
    params: 0,
    loss: 1 / (step + 1),
    grad: null,
    lr: 0.1,
    opt: {},
    hyper: {},
    evaluations: step,
    rng: { words: [1, 2, 3, 4], spare: null },
    history: [],
    metrics,
  })

const run = (source: Observable<TrainState>, op: ReturnType<typeof evaluateEvery>) => {
  let out: TrainState[] = []
  source.pipe(op, collect()).subscribe((v) => (out = v))
  return out
}

describe('evaluateEvery', () => {
  it('measures steps 0, k, 2k… and leaves the others alone (the doc example)', () => {
    const out = run(
      of(...[0, 1, 2, 3, 4].map((i) => state(i))),
      evaluateEvery({ steps: 2 }, (s) => ({ double: 2 * s.step })),
    )
    expect(out.map((s) => s.metrics)).toEqual([{ double: 0 }, {}, { double: 4 }, {}, { double: 8 }])
  })

  it('keeps earlier metrics, freezes the new state and never touches the input', () => {
    const input = state(600, { lossAvg: 0.5 })
    const [out] = run(
      of(input),
      evaluateEvery({ epochs: 1, stepsPerEpoch: 600 }, () => ({ testAcc: 0.9 })),
    )
    expect(out.metrics).toEqual({ lossAvg: 0.5, testAcc: 0.9 })
    expect(Object.isFrozen(out)).toBe(true)
    expect(input.metrics).toEqual({ lossAvg: 0.5 })
    const [skipped] = run(
      of(state(601)),
      evaluateEvery({ epochs: 1, stepsPerEpoch: 600 }, () => ({ testAcc: 0.9 })),
    )
    expect(skipped.metrics).toEqual({})
  })

  it('turns epochs into steps: half an epoch of 600 is every 300 steps', () => {
    const steps: number[] = []
    run(
      of(...[0, 150, 300, 450, 600].map((i) => state(i))),
      evaluateEvery({ epochs: 0.5, stepsPerEpoch: 600 }, (s) => (steps.push(s.step), {})),
    )
    expect(steps).toEqual([0, 300, 600])
  })

  it('with final: true also measures the state a stopping rule marked as last', () => {
    const last = Object.freeze({ ...state(7), stopReason: { rule: 'maxSteps', steps: 7 } })
    const fn = (s: TrainState) => ({ at: s.step })
    const [a, b] = run(of(state(5), last), evaluateEvery({ steps: 4, final: true }, fn))
    expect([a.metrics, b.metrics]).toEqual([{}, { at: 7 }])
    const [, c] = run(of(state(5), last), evaluateEvery({ steps: 4 }, fn))
    expect(c.metrics).toEqual({})
    expect(() => evaluateEvery({ steps: 4, final: 1 as never }, fn)).toThrow(
      new TypeError('evaluateEvery: every.final: expected a boolean, got 1'),
    )
  })

  it('passes an upstream error on, and makes a throwing fn the stream error', () => {
    let caught: unknown
    throwError(() => new Error('up'))
      .pipe(evaluateEvery({ steps: 1 }, () => ({})))
      .subscribe({ error: (e) => (caught = e) })
    expect((caught as Error).message).toBe('up')
    of(state(0))
      .pipe(
        evaluateEvery({ steps: 1 }, () => {
          throw new Error('bad fn')
        }),
      )
      .subscribe({ error: (e) => (caught = e) })
    expect((caught as Error).message).toBe('bad fn')
  })

  it('validates when built', () => {
    expect(() => evaluateEvery({ steps: 0 }, () => ({}))).toThrow(
      new RangeError('evaluateEvery: every.steps: expected a positive integer, got 0'),
    )
    expect(() => evaluateEvery({ epochs: -1, stepsPerEpoch: 600 }, () => ({}))).toThrow(
      new RangeError('evaluateEvery: every.epochs: expected a positive finite number, got -1'),
    )
    expect(() => evaluateEvery({ epochs: 1, stepsPerEpoch: 0 }, () => ({}))).toThrow(
      'evaluateEvery: every.stepsPerEpoch: expected a positive integer, got 0',
    )
    expect(() => evaluateEvery({ steps: 1 }, 3 as never)).toThrow(
      new TypeError('evaluateEvery: fn: expected a function, got 3'),
    )
  })
})
