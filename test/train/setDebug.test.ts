import { asyncScheduler, lastValueFrom, map, type Observable, pipe, take, toArray } from 'rxjs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  chunked,
  epochBatches,
  flatten,
  setDebug,
  tensor,
  train,
  TrainError,
  twoLayerNet,
  type Params,
  type Tensor,
  type TrainState,
} from 'gradstream'
import {
  adam,
  centralDifference,
  gradient,
  loss,
  maxSteps,
  momentum,
  perturb,
  spsa,
  update,
} from 'gradstream/operators'
import { checkedEmit, isDebug } from '../../src/loop/setDebug.js'

type W = { w: Tensor; b: Tensor }
const params: W = { w: tensor([1, -2, 0.5]), b: tensor([0.3]) }
const f = (p: W) =>
  (p.w.data[0] - 1) ** 2 + 3 * p.w.data[1] ** 2 + Math.sin(p.w.data[2]) + p.b.data[0] ** 4

/** A fused step (gradstream's stages only) and one with a user operator in between. */
const fused = () => pipe(perturb<W>(centralDifference()), loss(f), gradient(), adam(0.05))
const unfused = () =>
  pipe(
    perturb<W>(spsa({ c: 1e-3, seed: 3 })),
    loss(f),
    map((s) => s), // a user's operator: the step runs through RxJS operators
    gradient(),
    momentum(0.01, 0.9),
  )

/** Runs `steps` steps, calling `touch` on each state as a subscriber; resolves to the error. */
function runWith(
  step: ReturnType<typeof fused>,
  touch: (s: TrainState<W>) => void,
  steps = 6,
): Promise<unknown> {
  return new Promise((resolve) => {
    train({ params, step })
      .pipe(take(steps))
      .subscribe({ next: touch, error: resolve, complete: () => resolve(null) })
  })
}

afterEach(() => setDebug(false))

describe('setDebug', () => {
  it('is off by default, and then a write goes unnoticed (the rule it checks is the user’s)', async () => {
    expect(isDebug()).toBe(false)
    const err = await runWith(fused(), (s) => {
      if (s.step === 3) (s.params.w.data as Float64Array)[0] = 9
    })
    expect(err).toBeNull()
  })

  it('catches a subscriber writing into params, naming the path and the step', async () => {
    setDebug(true)
    const err = await runWith(fused(), (s) => {
      if (s.step === 3) (s.params.w.data as Float64Array)[0] = 9
    })
    expect(err).toBeInstanceOf(TrainError)
    expect((err as TrainError).message).toBe(
      'train: step 4: state.params.w.data was changed by a subscriber after step 3',
    )
    expect((err as TrainError).step).toBe(4)
  })

  it('catches a write into the gradient', async () => {
    setDebug(true)
    const err = await runWith(unfused(), (s) => {
      if (s.step === 2) (s.grad!.b.data as Float64Array)[0] = 7
    })
    expect((err as Error).message).toBe(
      'train: step 3: state.grad.b.data was changed by a subscriber after step 2',
    )
  })

  it('catches a write into an optimizer slot (adam’s first moment)', async () => {
    setDebug(true)
    const err = await runWith(fused(), (s) => {
      const opt = s.opt as { scaleByAdam?: { mu: W } }
      if (s.step === 1) (opt.scaleByAdam!.mu.w.data as Float64Array)[2] = -0
    })
    // −0 where +0 or any other value was: bit patterns are compared, so even this is seen
    expect((err as Error).message).toBe(
      'train: step 2: state.opt.scaleByAdam.mu.w.data was changed by a subscriber after step 1',
    )
  })

  it('catches a write into the initial state (step 0) and in a chunked run', async () => {
    setDebug(true)
    const err0 = await runWith(fused(), (s) => {
      if (s.step === 0) (s.params.b.data as Float64Array)[0] = 1
    })
    expect((err0 as Error).message).toBe(
      'train: step 1: state.params.b.data was changed by a subscriber after step 0',
    )
    const errChunked = await new Promise((resolve) => {
      train({ params, step: fused(), mode: chunked({ steps: 2, scheduler: asyncScheduler }) })
        .pipe(take(8))
        .subscribe({
          next: (s) => {
            if (s.step === 5) (s.params.w.data as Float64Array)[1] = 0
          },
          error: resolve,
          complete: () => resolve(null),
        })
    })
    expect((errChunked as Error).message).toBe(
      'train: step 6: state.params.w.data was changed by a subscriber after step 5',
    )
  })

  it('the same run without the write is bit-identical with debug on and off', async () => {
    const net = twoLayerNet({ inputSize: 4, hiddenSize: 3, outputSize: 2, seed: 5 })
    const data = {
      x: tensor([
        [0, 0.5, 1, 0.2],
        [0.9, 0, 0.1, 0.4],
        [0.3, 0.3, 0, 0.8],
        [1, 0.2, 0.6, 0],
      ]),
      t: tensor([0, 1, 1, 0]),
    }
    const runs: Record<string, () => Observable<TrainState<Params>>> = {
      fused: () => train({ params, step: fused() }).pipe(maxSteps(40)),
      unfused: () => train({ params, step: unfused() }).pipe(maxSteps(40)),
      net: () =>
        train({
          params: net.params,
          data: epochBatches(data, { batchSize: 2, seed: 1 }),
          step: pipe(
            gradient((p: typeof net.params, b: { x: Tensor; t: Tensor }) =>
              net.lossAndGradient(p, b.x, b.t),
            ),
            update(0.5),
          ),
        }).pipe(maxSteps(40)),
    }
    // every double of every state, as bits: params, grad, opt slots, loss, lr
    const bits = (states: TrainState<Params>[]) =>
      states.map((s) => {
        const { batch: _b, ...rest } = s as TrainState<Params> & { batch?: unknown }
        const out: string[] = []
        const walk = (v: unknown): void => {
          if (typeof v === 'number') out.push(Object.is(v, -0) ? '-0' : String(v))
          else if (v instanceof Float64Array) out.push(...Array.from(v, (x) => String(x)))
          else if (Array.isArray(v)) v.forEach(walk)
          else if (typeof v === 'object' && v !== null)
            for (const k of Object.keys(v).sort()) walk((v as Record<string, unknown>)[k])
        }
        walk(rest)
        return out.join(',')
      })
    for (const [name, run] of Object.entries(runs)) {
      const off = bits((await lastValueFrom(run().pipe(toArray()))) as TrainState<Params>[])
      setDebug(true)
      const on = bits((await lastValueFrom(run().pipe(toArray()))) as TrainState<Params>[])
      setDebug(false)
      expect(on.length, name).toBe(41)
      expect(on, name).toEqual(off)
    }
    expect(flatten(params)).toEqual(Float64Array.from([0.3, 1, -2, 0.5]))
  })

  it('costs nothing when off: the loop emits through the very same function', () => {
    const emit = () => {}
    expect(checkedEmit(emit, () => {})).toBe(emit)
    setDebug(true)
    expect(checkedEmit(emit, () => {})).not.toBe(emit)
  })

  it('GRADSTREAM_DEBUG=1 turns it on when gradstream loads', async () => {
    vi.stubEnv('GRADSTREAM_DEBUG', '1')
    vi.resetModules()
    const fresh = await import('../../src/loop/setDebug.js')
    expect(fresh.isDebug()).toBe(true)
    vi.stubEnv('GRADSTREAM_DEBUG', '0')
    vi.resetModules()
    expect((await import('../../src/loop/setDebug.js')).isDebug()).toBe(false)
    vi.unstubAllEnvs()
  })

  it('names a bad argument', () => {
    expect(() => setDebug(1 as never)).toThrow(
      new TypeError('setDebug: on: expected a boolean, got 1'),
    )
  })
})
