import { lastValueFrom, pipe, take, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { tensor, train, type Tensor, type TrainState } from 'gradstream'
import {
  adam,
  evaluateEvery,
  gradient,
  maxSteps,
  scheduleFree,
  scheduleFreeAdamw,
  scheduleFreeEvalParams,
  scheduleFreeSgd,
  sgd,
  type ScheduleFreeState,
} from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'

const sumSq = (x: Tensor) => x.data.reduce((s, v) => s + v * v, 0)
const f = (x: Tensor) => ({ loss: sumSq(x), grad: tensor([...x.data].map((v) => 2 * v)) })

async function evalLosses(optimizer: ReturnType<typeof sgd>, n = 5): Promise<number[]> {
  const states = await lastValueFrom(
    train({ params: tensor([1, 2, 3]), step: pipe(gradient(f), optimizer) }).pipe(
      take(n + 1),
      toArray(),
    ),
  )
  return states.slice(1).map((s) => sumSq(scheduleFreeEvalParams(s)))
}

/** optax prints 3 significant figures of float32 results: agreement to 3 figures. */
function expect3Figures(got: number[], printed: number[]) {
  got.forEach((v, i) => expect(v.toPrecision(3), `step ${i + 1}`).toBe(printed[i].toPrecision(3)))
}

describe('scheduleFree', () => {
  it("optax's schedule_free_sgd docstring: f(x) after five steps 14.0, ~0, 0.996, 0.806, 0.241", async () => {
    const got = await evalLosses(scheduleFreeSgd(1)) // optax's default learning rate, 1.0
    expect3Figures([got[0], got[2], got[3], got[4]], [14.0, 0.996, 0.806, 0.241])
    // x₂ = 0 exactly in exact arithmetic; optax's float32 prints its rounding as 1.75e-14,
    // float64's is ~1e-16² · 14
    expect(got[1]).toBeLessThan(1e-28)
  })

  it("optax's schedule_free_adamw docstring (learning rate 1): 5.00, 3.05, 1.73, 0.894, 0.413", async () => {
    expect3Figures(await evalLosses(scheduleFreeAdamw(1)), [5.0, 3.05, 1.73, 0.894, 0.413])
  })

  it('equals the y, z, x recursion written out, with warmup, weight decay, b1 and weightLrPower', async () => {
    const [lr, warm, wd, b1, power] = [0.3, 3, 0.1, 0.8, 1.5]
    const states = await lastValueFrom(
      train({
        params: tensor([1, 2, 3]),
        step: pipe(
          gradient(f),
          scheduleFreeSgd(lr, { warmupSteps: warm, weightDecay: wd, b1, weightLrPower: power }),
        ),
      }).pipe(take(9), toArray()),
    )
    // Defazio et al. 2024, Alg. 1 (SGD), with x kept rather than recomputed from y and z
    const gamma = (t: number) => (t < warm ? (lr * t) / warm : lr) // optax's warmup from 0
    let z = [1, 2, 3]
    let x = [...z]
    let y = [...z]
    let [maxLr, sum] = [0, 0]
    for (let t = 1; t <= 8; t++) {
      const g = y.map((v) => 2 * v + wd * v) // ∇f(y) + λ·y
      z = z.map((v, i) => v - gamma(t - 1) * g[i]) // the inner SGD reads its 0-based count
      maxLr = Math.max(maxLr, gamma(t)) // the weights read the 1-based one
      sum += maxLr ** power
      const ct = maxLr ** power / sum
      x = x.map((v, i) => (1 - ct) * v + ct * z[i])
      y = x.map((v, i) => b1 * v + (1 - b1) * z[i])
      const s = states[t] as TrainState<Tensor>
      // y + (y' − y) and the recomputed x round differently from this loop: a few ulp of 3
      y.forEach((v, i) => expectClose(s.params.data[i], v, { atol: 1e-14 }, `y${t}[${i}]`))
      const ex = scheduleFreeEvalParams(s)
      x.forEach((v, i) => expectClose(ex.data[i], v, { atol: 1e-13 }, `x${t}[${i}]`))
      const slot = s.opt.scheduleFree as ScheduleFreeState
      z.forEach((v, i) => expectClose((slot.z as Tensor).data[i], v, { atol: 1e-14 }, `z${t}`))
      expect(s.hyper['scheduleFree.lr']).toBe(gamma(t))
    }
  })

  it('wraps any optimizer: scheduleFree(sgd(γ), γ) is scheduleFreeSgd(γ), bit for bit', async () => {
    const run = (o: ReturnType<typeof sgd>) =>
      lastValueFrom(
        train({ params: tensor([1, -2, 3]), step: pipe(gradient(f), o) }).pipe(
          maxSteps(6),
          toArray(),
        ),
      )
    const a = await run(scheduleFree(sgd(0.2), 0.2))
    const b = await run(scheduleFreeSgd(0.2))
    expect(a.map((s) => s.params)).toEqual(b.map((s) => s.params))
    const c = await run(scheduleFree(adam(0.2, { b1: 0 }), 0.2))
    expect(c[6].hyper['scheduleFree.inner.scaleByAdam.b1']).toBe(0)
    expect(sumSq(scheduleFreeEvalParams(c[6]))).toBeLessThan(14)
  })

  it('evaluateEvery measures on x, through scheduleFreeEvalParams (x = y = z before the first step)', async () => {
    const states = await lastValueFrom(
      train({ params: tensor([1, 2, 3]), step: pipe(gradient(f), scheduleFreeSgd(1)) }).pipe(
        maxSteps(3),
        evaluateEvery({ steps: 1 }, (s) => ({ fx: sumSq(scheduleFreeEvalParams(s)) })),
        toArray(),
      ),
    )
    expect(states.map((s) => s.metrics.fx.toPrecision(3))).toEqual([
      '14.0',
      '14.0',
      expect.any(String),
      '0.996',
    ])
  })

  it('validates', () => {
    expect(() => scheduleFreeSgd(0)).toThrow(
      new RangeError('scheduleFreeSgd: lr: expected a positive finite number, got 0'),
    )
    expect(() => scheduleFreeAdamw(1, { warmupSteps: 0 })).toThrow(
      new RangeError('scheduleFreeAdamw: warmupSteps: expected a positive integer, got 0'),
    )
    expect(() => scheduleFreeSgd(1, { warmup: 5 } as never)).toThrow(
      new TypeError(
        'scheduleFreeSgd: options.warmup: expected no such key (known: b1, weightDecay, warmupSteps, weightLrPower), got 5',
      ),
    )
    expect(() => scheduleFree(sgd(1), 1, { b1: 0 })).toThrow(
      new RangeError('scheduleFree: b1: expected a number in (0, 1], got 0'),
    )
    expect(() => scheduleFree(sgd(1), 1, { b1: 1.5 })).toThrow(
      new RangeError('scheduleFree: b1: expected a number in (0, 1], got 1.5'),
    )
    expect(() => scheduleFree(1, 1)).toThrow(
      new TypeError(
        'scheduleFree: inner: expected an optimizer such as adam(1e-3) or a transform such as scaleByAdam(), got 1',
      ),
    )
    const s = { step: 3, params: [1], opt: {} } as unknown as TrainState<number[]>
    expect(() => scheduleFreeEvalParams(s)).toThrow(
      new TypeError(
        'scheduleFreeEvalParams: state.opt.scheduleFree: expected the slot of scheduleFree, got undefined',
      ),
    )
  })
})
