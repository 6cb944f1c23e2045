import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  from,
  lastValueFrom,
  map,
  Observable,
  pipe,
  Subject,
  Subscriber,
  take,
  takeWhile,
  toArray,
} from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  randomBatches,
  rng,
  tensor,
  train,
  TrainError,
  type Batch,
  type Tensor,
  type TrainState,
} from 'gradstream'
import {
  gaussian,
  gradient,
  loss,
  maxSteps,
  perturb,
  spsa,
  stopOnNonFinite,
  update,
} from 'gradstream/operators'
import { bookStep, counted, start } from './problem.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

describe('train', () => {
  it('emits the initial state, then one per step, each frozen', () => {
    const { f } = counted()
    const states: TrainState<Tensor>[] = []
    train({ params: start(), step: bookStep(f) })
      .pipe(take(3))
      .subscribe((s) => states.push(s))
    expect(states.map((s) => s.step)).toEqual([0, 1, 2])
    const s0 = states[0]
    expect([...s0.params.data]).toEqual([-3, 4])
    expect(s0.loss).toBeNaN()
    expect(s0.lr).toBeNaN()
    expect(s0.grad).toBeNull()
    expect(s0.evaluations).toBe(0)
    // after step 1: the loss at (−3, 4) is 25, the step used lr 0.1
    expect(states[1].loss).toBe(25)
    expect(states[1].lr).toBe(0.1)
    for (const s of states) {
      expect(Object.isFrozen(s)).toBe(true)
      expect(Object.isFrozen(s.params)).toBe(true)
      expect(Object.isFrozen(s.params.shape)).toBe(true)
      expect('batch' in s || 'probes' in s || 'updates' in s).toBe(false)
    }
  })

  it('copies the initial parameters: later changes by the caller do not reach the run', () => {
    const p = tensor([-3, 4])
    const { f } = counted()
    const run$ = train({ params: p, step: bookStep(f) }).pipe(take(1))
    p.data[0] = 100
    let first: Tensor | undefined
    run$.subscribe((s) => (first = s.params))
    expect(first!.data[0]).toBe(100) // copied at subscription: each run is independent
    let again: Tensor | undefined
    run$.subscribe((s) => (again = s.params))
    expect(again).not.toBe(first)
    p.data[0] = -3
  })

  describe('halts computation at once', () => {
    it('take(k): exactly the calls of k − 1 steps', () => {
      const { calls, f } = counted()
      train({ params: start(), step: bookStep(f) })
        .pipe(take(5))
        .subscribe()
      expect(calls.n).toBe(4 * 5)
    })

    it('unsubscribing inside next at step 3: no call after it', () => {
      const { calls, f } = counted()
      const sub: Subscriber<TrainState<Tensor>> = new Subscriber({
        next: (s: TrainState<Tensor>) => {
          if (s.step === 3) sub.unsubscribe()
        },
        error: () => undefined,
        complete: () => undefined,
      })
      train({ params: start(), step: bookStep(f) }).subscribe(sub)
      expect(calls.n).toBe(3 * 5)
      expect(sub.closed).toBe(true)
    })

    it('a stopping rule (maxSteps) and takeWhile', () => {
      const { calls, f } = counted()
      train({ params: start(), step: bookStep(f) })
        .pipe(maxSteps(7))
        .subscribe()
      expect(calls.n).toBe(7 * 5)
      calls.n = 0
      train({ params: start(), step: bookStep(f) })
        .pipe(takeWhile((s) => s.step < 4))
        .subscribe()
      expect(calls.n).toBe(4 * 5)
    })
  })

  it('1e5 synchronous steps: no stack overflow, heap growth under 2 MB without history', () => {
    const step = pipe(
      gradient((x: number[]) => ({
        loss: x[0] ** 2 + x[1] ** 2,
        grad: [2 * x[0], 2 * x[1]],
      })),
      update(1e-6),
    )
    const run = (n: number) => {
      let last = -1
      train({ params: [-3, 4], step })
        .pipe(maxSteps(n))
        .subscribe((s) => (last = s.step))
      return last
    }
    run(10_000) // warm up the JIT and RxJS's one-time allocations
    gc()
    const before = process.memoryUsage().heapUsed
    expect(run(100_000)).toBe(100_000)
    gc()
    const growth = process.memoryUsage().heapUsed - before
    // each step allocates ~1 kB of states; 1e5 of them kept would be ~100 MB
    expect(growth).toBeLessThan(2 * 1024 * 1024)
  })

  describe('same seed ⇒ the same stream', () => {
    const quadratic = (x: Tensor) => {
      let s = 0
      for (let i = 0; i < x.data.length; i++) s += (i + 1) * x.data[i] * x.data[i]
      return s
    }
    const runWith = (design: ReturnType<typeof spsa>, seed: number) =>
      lastValueFrom(
        train({
          params: tensor([1, -2, 3, 0.5]),
          step: pipe(perturb(design), loss(quadratic), gradient(), update(0.01)),
          seed,
        }).pipe(
          take(30),
          map((s) => [...s.params.data]),
          toArray(),
        ),
      )

    it.each([
      ['spsa', () => spsa({ c: 1e-3 })],
      ['gaussian', () => gaussian({ sigma: 1e-2, samples: 2 })],
      ['gaussian one-sided', () => gaussian({ sigma: 1e-2, antithetic: false })],
    ])('%s', async (_, design) => {
      const a = await runWith(design(), 7)
      const b = await runWith(design(), 7)
      const c = await runWith(design(), 8)
      expect(a).toEqual(b)
      expect(a).not.toEqual(c)
    })

    it('a design with its own seed ignores the run seed and keeps its generator in opt', async () => {
      const a = await runWith(spsa({ seed: 3 }), 1)
      const b = await runWith(spsa({ seed: 3 }), 2)
      expect(a).toEqual(b)
    })

    it('random batches from the run generator, through data', async () => {
      // batches: 3 indices drawn from rng(seed) per step; the objective fits their mean
      const ys = [1, 2, 3, 4, 5, 6, 7, 8]
      const batches = (seed: number) => {
        const r = rng(seed)
        return (function* () {
          for (;;) yield [r.int(8), r.int(8), r.int(8)].map((i) => ys[i])
        })()
      }
      const run = (seed: number) =>
        lastValueFrom(
          train({
            params: [0],
            data: batches(seed),
            step: pipe(
              perturb(spsa()),
              loss((p: number[], b: number[]) => b.reduce((s, y) => s + (p[0] - y) ** 2, 0)),
              gradient(),
              update(0.05),
            ),
            seed,
          }).pipe(take(40), toArray()),
        )
      const [a, b, c] = [await run(5), await run(5), await run(6)]
      expect(a).toEqual(b)
      expect(a.map((s) => s.params)).not.toEqual(c.map((s) => s.params))
    })
  })

  describe('errors', () => {
    it('an objective that throws at step k errors the stream with k and the last good state', () => {
      let calls = 0
      const f = (x: Tensor) => {
        calls++
        if (calls > 3 * 5 + 2) throw new Error('boom')
        return x.data[0] ** 2 + x.data[1] ** 2
      }
      const seen: number[] = []
      let error: unknown
      train({ params: start(), step: bookStep(f) }).subscribe({
        next: (s) => seen.push(s.step),
        error: (e) => (error = e),
      })
      expect(seen).toEqual([0, 1, 2, 3])
      expect(error).toBeInstanceOf(TrainError)
      const e = error as TrainError<TrainState<Tensor>>
      expect(e.step).toBe(4)
      expect(e.lastState.step).toBe(3)
      expect(e.message).toBe('train: step 4: boom')
      expect((e.cause as Error).message).toBe('boom')
      // the last good state is the one emitted: x after three steps of x −= 0.1·2x
      expect(e.lastState.params.data[0]).toBeCloseTo(-3 * 0.8 ** 3, 9)
    })

    it('a non-finite loss is caught by stopOnNonFinite with a clear reason', async () => {
      // x ← x − 10·2x = −19x, so x_k = (−19)^k; the loss of state k is x_{k−1}² = 19^(2(k−1)),
      // which first overflows when 2(k−1)·ln 19 > ln(MAX_VALUE) (≈ 120.5 < k − 1; far from a tie)
      const last = await lastValueFrom(
        train({
          params: [1],
          step: pipe(
            gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })),
            update(10),
          ),
        }).pipe(stopOnNonFinite(), maxSteps(10_000)),
      )
      const k = Math.floor(Math.log(Number.MAX_VALUE) / (2 * Math.log(19))) + 2
      expect(last.step).toBe(k)
      expect(last.stopReason).toEqual({
        rule: 'stopOnNonFinite',
        field: 'loss',
        value: Infinity,
        message: `loss is Infinity at step ${k}`,
      })
    })

    it('a data source that throws errors the stream with the step it was fetching for', () => {
      function* batches() {
        yield 1
        yield 2
        throw new Error('disk gone')
      }
      let error: unknown
      const seen: number[] = []
      train({
        params: [0],
        data: batches(),
        step: pipe(
          gradient((p: number[], b: number) => ({ loss: (p[0] - b) ** 2, grad: [2 * (p[0] - b)] })),
          update(0.5),
        ),
      }).subscribe({ next: (s) => seen.push(s.step), error: (e) => (error = e) })
      expect(seen).toEqual([0, 1, 2])
      expect((error as TrainError).message).toBe('train: step 3: disk gone')
      expect((error as TrainError).lastState.params).toEqual([2])
    })

    it('validates its config', () => {
      const step = bookStep(counted().f)
      expect(() => train({ params: 'x' as never, step })).toThrow(
        new TypeError('train: params: expected a number, a tensor, an array or a record, got "x"'),
      )
      expect(() => train({ params: start(), step: undefined as never })).toThrow(
        new TypeError('train: step: expected a function, got undefined'),
      )
      expect(() => train({ params: start(), step, seed: 0.5 })).toThrow(
        new RangeError('train: seed: expected an integer in [-2147483648, 4294967295], got 0.5'),
      )
      expect(() => train({ params: start(), step, data: 3 as never })).toThrow(
        new TypeError(
          'train: data: expected an iterable, an async iterable or an Observable of batches, got 3',
        ),
      )
      expect(() => train({ params: start(), step, mode: 'fast' as never })).toThrow(
        new TypeError(
          'train: mode: expected sync(), chunked({ … }) or pausable(paused$, mode), got "fast"',
        ),
      )
    })

    it('a step that does not advance the step count is reported', () => {
      let error: unknown
      train({ params: start(), step: map((s) => s) }).subscribe({ error: (e) => (error = e) })
      expect((error as Error).message).toBe(
        'train: step 1: step: expected the state of step 1 (does the step end with update() or applyUpdates()?), got "step 0"',
      )
    })
  })

  describe('data', () => {
    const fitMean = pipe(
      gradient((p: number[], b: number) => ({
        loss: (p[0] - b) ** 2,
        grad: [2 * (p[0] - b)],
      })),
      update(0.5),
    )
    it('one batch per step from an iterable; completes when it ends', () => {
      // x ← x − 0.5·2(x − b) = b: each step jumps to its batch
      const states: TrainState<number[]>[] = []
      train({ params: [0], data: [3, 1, 4], step: fitMean }).subscribe((s) => states.push(s))
      expect(states.map((s) => s.params[0])).toEqual([0, 3, 1, 4])
      expect(states.map((s) => s.loss)).toEqual([NaN, 9, 4, 9])
    })

    it("gradstream's samplers (endless, both Observable and iterable) are pulled one batch a step", () => {
      const x = tensor([[0], [1], [2], [3]])
      const t = tensor([0, 2, 4, 6]) // t = 2x
      const seen: number[] = []
      let out: TrainState<number[]> | undefined
      train({
        params: [0],
        data: randomBatches({ x, t }, { batchSize: 2, seed: 3 }),
        step: pipe(
          gradient((p: number[], b: Batch) => {
            seen.push(b.x.data.length)
            let loss = 0
            let g = 0
            for (let i = 0; i < 2; i++) {
              const e = p[0] * b.x.data[i] - b.t.data[i]
              loss += e * e
              g += 2 * e * b.x.data[i]
            }
            return { loss, grad: [g] }
          }),
          update(0.05),
        ),
      })
        .pipe(maxSteps(200))
        .subscribe((s) => (out = s))
      expect(seen).toHaveLength(200) // one batch a step, not a drained endless Observable
      expect(out!.params[0]).toBeCloseTo(2, 6)
    })

    it('an async iterable', async () => {
      async function* batches() {
        yield 3
        await new Promise((r) => setTimeout(r, 1))
        yield 1
      }
      const ps = await lastValueFrom(
        train({ params: [0], data: batches(), step: fitMean }).pipe(
          map((s) => s.params[0]),
          toArray(),
        ),
      )
      expect(ps).toEqual([0, 3, 1])
    })

    it('an Observable, asynchronous', async () => {
      const data$ = new Subject<number>()
      const out: number[] = []
      const done = lastValueFrom(
        train({ params: [0], data: data$, step: fitMean }).pipe(
          map((s) => s.params[0]),
          toArray(),
        ),
      )
      data$.next(2)
      await Promise.resolve()
      data$.next(5)
      data$.complete()
      out.push(...(await done))
      expect(out).toEqual([0, 2, 5])
    })

    it('an asynchronous step resumes the loop when it delivers', async () => {
      const delayed = (source: Observable<TrainState<number[]>>) =>
        new Observable<TrainState<number[]>>((s) =>
          source.subscribe({
            next: (v) => setTimeout(() => s.next(v), 0),
            error: (e) => s.error(e),
          }),
        )
      const ps = await lastValueFrom(
        train({ params: [0], data: from([1, 2, 3]), step: pipe(fitMean, delayed) }).pipe(
          maxSteps(3),
          map((s) => s.params[0]),
          toArray(),
        ),
      )
      expect(ps).toEqual([0, 1, 2, 3])
    })
  })
})
