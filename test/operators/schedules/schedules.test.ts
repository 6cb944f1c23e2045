import fc from 'fast-check'
import { lastValueFrom, map, of, pipe, take, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { train, type WithGradient } from 'gradstream'
import {
  applyUpdates,
  constant,
  cosineDecay,
  exponentialDecay,
  gradient,
  oneCycle,
  piecewise,
  reduceLrOnPlateau,
  scaleByLearningRate,
  stepDecay,
  warmup,
  type Schedule,
} from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'

const lr = fc.double({ min: 1e-6, max: 10, noNaN: true })
const len = fc.integer({ min: 1, max: 10_000 })
const t = fc.integer({ min: 0, max: 20_000 })
// schedules are evaluated in a few flops: relative rounding ≲ 1e-15, allow 1e-12
const tol = { rtol: 1e-12, atol: 1e-300 }

/** f(a) ≥ f(b) (or ≤) for a ≤ b, up to rounding. */
function monotone(s: Schedule, a: number, b: number, dir: 'down' | 'up') {
  const [x, y] = [s(Math.min(a, b)), s(Math.max(a, b))]
  const slack = 1e-12 * Math.max(Math.abs(x), Math.abs(y))
  if (dir === 'down') expect(y).toBeLessThanOrEqual(x + slack)
  else expect(y).toBeGreaterThanOrEqual(x - slack)
}

describe('schedules', () => {
  it('the doc examples', () => {
    expect(constant(0.1)(1e6)).toBe(0.1)
    const e = exponentialDecay({ init: 1, rate: 0.5, steps: 10 })
    expect([e(0), e(10), e(20)]).toEqual([1, 0.5, 0.25])
    const sd = stepDecay({ init: 0.1, factor: 0.5, every: 100 })
    expect([sd(99), sd(100)]).toEqual([0.1, 0.05])
    const c = cosineDecay({ init: 0.1, steps: 100 })
    expect(c(0)).toBe(0.1)
    expectClose(c(50), 0.05, { atol: 1e-17 }, 'cos midpoint')
    expect(c(100)).toBe(0)
    const w = warmup({ to: 0.1, steps: 10, then: cosineDecay({ init: 0.1, steps: 90 }) })
    expect([w(0), w(5), w(10), w(100)]).toEqual([0, 0.05, 0.1, 0])
    const p = piecewise({ boundaries: [100, 200], values: [0.1, 0.01, 0.001] })
    expect([p(99), p(100), p(250)]).toEqual([0.1, 0.01, 0.001])
    const o = oneCycle({ maxLr: 0.1, steps: 100 })
    expect(o(0)).toBe(0.1 / 25)
    expect(o(30)).toBe(0.1)
    expect(o(100)).toBe(0.1 / 25 / 1e4)
  })

  it('exponentialDecay: init·rate^(t/steps), monotone, clamped at end', () => {
    fc.assert(
      fc.property(
        lr,
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        len,
        t,
        t,
        (init, rate, steps, a, b) => {
          const s = exponentialDecay({ init, rate, steps })
          expectClose(s(a), init * Math.pow(rate, a / steps), tol, 'formula')
          expect(s(0)).toBe(init)
          monotone(s, a, b, 'down')
          const floor = init * rate // reached at t = steps
          const clamped = exponentialDecay({ init, rate, steps, end: floor })
          expect(clamped(a)).toBeGreaterThanOrEqual(floor)
          const st = exponentialDecay({ init, rate, steps, staircase: true })
          expectClose(st(a), init * Math.pow(rate, Math.floor(a / steps)), tol, 'staircase')
        },
      ),
    )
  })

  it('stepDecay: constant within a period, drops by factor at each boundary', () => {
    fc.assert(
      fc.property(
        lr,
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        len,
        t,
        t,
        (init, factor, every, a, b) => {
          const s = stepDecay({ init, factor, every })
          expectClose(s(a), init * factor ** Math.floor(a / every), tol, 'formula')
          monotone(s, a, b, 'down')
        },
      ),
    )
  })

  it('cosineDecay: from init to alpha·init, non-increasing, within bounds, flat after steps', () => {
    fc.assert(
      fc.property(
        lr,
        len,
        fc.double({ min: 0, max: 1, noNaN: true }),
        t,
        t,
        (init, steps, alpha, a, b) => {
          const s = cosineDecay({ init, steps, alpha })
          expect(s(0)).toBe(init)
          expectClose(s(steps), alpha * init, { rtol: 1e-12, atol: 1e-16 * init }, 'end')
          expect(s(steps + a)).toBe(s(steps))
          monotone(s, a, b, 'down')
          expect(s(a)).toBeGreaterThanOrEqual(alpha * init * (1 - 1e-12))
          expect(s(a)).toBeLessThanOrEqual(init)
        },
      ),
    )
  })

  it('warmup: linear from `from` to `to`, then the next schedule from its own step 0', () => {
    fc.assert(
      fc.property(lr, lr, len, t, t, (from, to, steps, a, b) => {
        const then = cosineDecay({ init: to, steps: 100 })
        const s = warmup({ from, to, steps, then })
        expect(s(0)).toBe(from)
        expectClose(s(steps), to, tol, 'end of warmup')
        const [x, y] = [Math.min(a, b) % steps, Math.max(a, b) % steps].sort((p, q) => p - q)
        monotone(s, x, y, from <= to ? 'up' : 'down')
        expectClose(s(x), from + ((to - from) * x) / steps, tol, 'linear')
        expect(s(steps + a)).toBe(then(a))
        const lo = Math.min(from, to)
        const hi = Math.max(from, to)
        expect(s(x)).toBeGreaterThanOrEqual(lo * (1 - 1e-12))
        expect(s(x)).toBeLessThanOrEqual(hi * (1 + 1e-12))
      }),
    )
  })

  it('piecewise: the value of the last boundary passed', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 1200 }),
        (bs, at) => {
          const boundaries = [...bs].sort((p, q) => p - q)
          const values = [...boundaries.map((_, i) => i + 1), boundaries.length + 1].map(
            (v) => v / 10,
          )
          const s = piecewise({ boundaries, values })
          const passed = boundaries.filter((x) => x <= at).length
          expect(s(at)).toBe(values[passed])
        },
      ),
    )
  })

  it('oneCycle: rises to maxLr at pctStart·steps, falls to the final value, stays within bounds', () => {
    fc.assert(
      fc.property(
        lr,
        fc.integer({ min: 10, max: 10_000 }),
        fc.double({ min: 0.05, max: 0.95, noNaN: true }),
        t,
        t,
        (maxLr, steps, pctStart, a, b) => {
          const s = oneCycle({ maxLr, steps, pctStart })
          const start = maxLr / 25
          const final = start / 1e4
          const peak = pctStart * steps
          expect(s(0)).toBe(start)
          expect(s(steps)).toBe(final)
          const [x, y] = [Math.min(a, b), Math.max(a, b)]
          if (y <= peak) monotone(s, x, y, 'up')
          if (x >= peak) monotone(s, x, y, 'down')
          expect(s(x)).toBeGreaterThanOrEqual(final * (1 - 1e-12))
          expect(s(x)).toBeLessThanOrEqual(maxLr * (1 + 1e-12))
        },
      ),
    )
  })

  it('validate their arguments and the step', () => {
    expect(() => constant(NaN)).toThrow(
      new RangeError('constant: value: expected a finite number, got NaN'),
    )
    expect(() => exponentialDecay({ init: 1, rate: 0, steps: 1 })).toThrow(
      new RangeError('exponentialDecay: rate: expected a positive finite number, got 0'),
    )
    expect(() => stepDecay({ init: 1, factor: 0.5, every: 0 })).toThrow(
      new RangeError('stepDecay: every: expected a positive integer, got 0'),
    )
    expect(() => cosineDecay({ init: 1, steps: 10, alpha: 2 })).toThrow(
      new RangeError('cosineDecay: alpha: expected a number in [0, 1], got 2'),
    )
    expect(() => warmup({ to: 1, steps: 0 })).toThrow(
      new RangeError('warmup: steps: expected a positive integer, got 0'),
    )
    expect(() => piecewise({ boundaries: [100, 200], values: [1, 2] })).toThrow(
      new RangeError('piecewise: values: expected 3 values (one more than boundaries), got 2'),
    )
    expect(() => piecewise({ boundaries: [5, 5], values: [1, 2, 3] })).toThrow(
      new RangeError('piecewise: boundaries[1]: expected an integer ≥ 6, got 5'),
    )
    expect(() => oneCycle({ maxLr: 1, steps: 10, pctStart: 1 })).toThrow(
      new RangeError('oneCycle: pctStart: expected a number in [0, 1), got 1'),
    )
    expect(() => cosineDecay({ init: 1, steps: 10 })(-1)).toThrow(
      new RangeError('cosineDecay: step: expected a non-negative finite number, got -1'),
    )
  })

  it('a schedule drives the learning rate by state.step (the first update uses schedule(0))', async () => {
    const s = stepDecay({ init: 0.4, factor: 0.5, every: 2 })
    const lrs = await lastValueFrom(
      train({
        params: [1],
        step: pipe(
          gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })),
          scaleByLearningRate(s),
          applyUpdates(),
        ),
      }).pipe(
        take(6),
        map((st) => st.lr),
        toArray(),
      ),
    )
    expect(lrs).toEqual([NaN, 0.4, 0.4, 0.2, 0.2, 0.1])
  })
})

describe('reduceLrOnPlateau', () => {
  const wg = (
    step: number,
    baseLoss: number,
    opt: WithGradient['opt'] = {},
  ): WithGradient<number[]> =>
    Object.freeze({
      step,
      params: [0],
      loss: baseLoss,
      grad: [1],
      updates: [-0.1],
      baseLoss,
      lr: 0.1,
      opt,
      hyper: {},
      evaluations: 0,
      rng: { words: [1, 2, 3, 4], spare: null },
      history: [],
      metrics: {},
    })

  it('multiplies updates and lr by factor after `patience` steps without improvement; memory in opt', async () => {
    const op = reduceLrOnPlateau({ factor: 0.5, patience: 2, minDelta: 0 })
    // feed states one at a time, carrying opt forward as a step pipeline would
    const losses = [3, 2, 2, 2, 2, 2, 1]
    let opt: WithGradient['opt'] = {}
    const scales: number[] = []
    for (let i = 0; i < losses.length; i++) {
      const [out] = await lastValueFrom(of(wg(i, losses[i], opt)).pipe(op, toArray()))
      opt = out.opt
      scales.push(out.hyper['reduceLrOnPlateau.scale'])
      expect(out.updates).toEqual([-0.1 * scales[i]])
      expect(out.lr).toBe(0.1 * scales[i])
    }
    // best 2 at step 1; steps 2, 3 bad → halve at 3; steps 4, 5 bad → halve at 5; 1 improves
    expect(scales).toEqual([1, 1, 1, 0.5, 0.5, 0.25, 0.25])
    expect(opt).toEqual({ reduceLrOnPlateau: { scale: 0.25, best: 1, bad: 0 } })
  })

  it('validates', () => {
    expect(() => reduceLrOnPlateau({ factor: 1 })).toThrow(
      new RangeError('reduceLrOnPlateau: factor: expected a number in [0, 1), got 1'),
    )
  })
})
