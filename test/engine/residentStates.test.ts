import fc from 'fast-check'
import { pipe, tap, toArray, VirtualTimeScheduler } from 'rxjs'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  chunked,
  mlp,
  setKernelBackend,
  setKernelThreads,
  tensor,
  train,
  type Tensor,
  type TrainState,
} from 'gradstream'
import {
  adam,
  gradient,
  maxSteps,
  scheduleFreeEvalParams,
  scheduleFreeSgd,
} from 'gradstream/operators'
import { lazyGradients } from '../../src/autodiff/lazyGradient.js'
import { residentReads } from '../../src/engine/residentStates.js'
import { RESIDENT_SETTLE_EVERY, setPassWasm } from '../../src/engine/wasmPass.js'
import { lazyDataOf } from '../../src/tensor/lazyData.js'
import { bitsOf, mlpAdamRun, passOptimizers, wave } from '../helpers/passOptimizers.js'
import { images } from '../helpers/sparseRows.js'

// The resident pass leaves a step's new θ and slot arrays in its memory, as lazy tensors read on
// demand (src/engine/residentStates.ts): copied out while the memory holds that step, else the
// step replayed by the JavaScript loop from the nearest materialized one. Whatever the order and
// time of the reads — during the run, after later steps, after another run took the memory
// over, two or three runs of one optimizer stepped in turn, a run resumed from a kept state —
// every state must hold the numbers the eager JavaScript pass (`setPassWasm('off')`) gives, bit
// for bit.

type P = { readonly W: Tensor; readonly b: Tensor; readonly s?: number }

const paramsOf = (seed: number, rows: number, cols: number, m: number, withNumber = true): P => ({
  W: {
    shape: [rows, cols],
    data: Float64Array.from({ length: rows * cols }, (_, i) => wave(seed, i, 2)),
  },
  b: tensor(Array.from({ length: m }, (_, i) => wave(seed + 1, i, 1))),
  ...(withNumber ? { s: wave(seed + 2, 0, 1) } : {}),
})

/** The gradient of a step: from its batch (the parameters unread), or from both. */
const gradientOf =
  (readsParams: boolean) =>
  (p: P, seed: number): { loss: number; grad: P } => {
    let i = 0
    const g = (v: number) => wave(seed, i++, 1.5) + (readsParams ? Math.sin(3 * v) : 0)
    const leaf = (t: Tensor): Tensor => {
      const n = t.shape.reduce((x, y) => x * y, 1)
      const src = readsParams ? t.data : null
      const data = new Float64Array(n)
      for (let j = 0; j < n; j++) data[j] = g(src === null ? 0 : src[j])
      return { shape: t.shape, data }
    }
    const grad = { W: leaf(p.W), b: leaf(p.b) }
    return { loss: 0, grad: p.s === undefined ? grad : { ...grad, s: g(p.s) } }
  }

const withWasm = <T>(mode: 'always' | 'off', fn: () => T): T => {
  const was = setPassWasm(mode)
  try {
    return fn()
  } finally {
    setPassWasm(was)
  }
}

interface Case {
  name: string
  rows: number
  cols: number
  m: number
  readsParams: boolean
  /** per run: its parameters' seed and its steps' seeds */
  runs: { seed: number; steps: number[] }[]
  /** steps of run 0 whose state is read as it is emitted */
  readEarly: number[]
  /** steps another optimizer runs before the late reads (taking the memory over) */
  others: number
  /** resume run 0 from its state at this index for 3 steps */
  resumeAt: number
  /** the late reads: state indices of all runs, in this order */
  order: number[]
}

/**
 * The case's runs stepped in turn (one step each), the early reads, another optimizer's run,
 * the resumed run, then the late reads in the case's order: the bits of every state.
 */
function runCase(c: Case, mode: 'always' | 'off'): string[] {
  return withWasm(mode, () => {
    const op = passOptimizers[c.name]()
    const f = gradientOf(c.readsParams)
    const early: string[] = []
    const vts = new VirtualTimeScheduler()
    const outs = c.runs.map((r, j) => {
      let states: TrainState<P>[] = []
      train({
        params: paramsOf(r.seed, c.rows, c.cols, c.m),
        data: r.steps,
        step: pipe(gradient(f), op as never),
        mode: chunked({ steps: 1, scheduler: vts }),
      })
        .pipe(
          maxSteps(r.steps.length),
          tap((s) => {
            if (j === 0 && c.readEarly.includes((s as TrainState<P>).step)) {
              early.push(bitsOf(s as TrainState<P>))
            }
          }),
          toArray(),
        )
        .subscribe((v) => (states = v as TrainState<P>[]))
      return () => states
    })
    vts.flush()
    const all = outs.flatMap((o) => o())
    // another optimizer (its own pass) stepped long enough to take idle memory over
    if (c.others > 0) {
      train({
        params: paramsOf(99, c.rows, c.cols, c.m),
        data: Array.from({ length: c.others }, (_, i) => i),
        step: pipe(gradient(f), passOptimizers[c.name]() as never),
      })
        .pipe(maxSteps(c.others))
        .subscribe()
    }
    const run0 = outs[0]()
    const from = run0[c.resumeAt % run0.length]
    let resumed: TrainState<P>[] = []
    train({
      params: from.params,
      from,
      data: [7, 8, 9],
      step: pipe(gradient(f), op as never),
    })
      .pipe(maxSteps(from.step + 3), toArray())
      .subscribe((v) => (resumed = v as TrainState<P>[]))
    const late = all.map(() => '')
    for (const i of c.order) late[i % all.length] = bitsOf(all[i % all.length])
    for (let i = 0; i < all.length; i++) if (late[i] === '') late[i] = bitsOf(all[i])
    return [...early, ...late, ...resumed.map(bitsOf)]
  })
}

const caseOf = fc
  .record({
    name: fc.constantFrom(...Object.keys(passOptimizers)),
    rows: fc.integer({ min: 1, max: 4 }),
    cols: fc.integer({ min: 1, max: 5 }),
    m: fc.integer({ min: 1, max: 6 }),
    readsParams: fc.boolean(),
    runs: fc.array(
      fc.record({
        seed: fc.integer({ min: 1, max: 1000 }),
        steps: fc.array(fc.integer({ min: 0, max: 1 << 20 }), { minLength: 1, maxLength: 26 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    readEarly: fc.array(fc.integer({ min: 0, max: 26 }), { maxLength: 4 }),
    others: fc.constantFrom(0, 0, 3, 40),
    resumeAt: fc.nat(),
    order: fc.array(fc.nat({ max: 80 }), { maxLength: 80 }),
  })
  .map((c): Case => c)

describe('states left in the resident pass’s memory', () => {
  beforeEach(() => {
    residentReads.copied = residentReads.replayed = residentReads.settled = 0
  })
  afterEach(() => setPassWasm('auto'))

  it('hold the eager pass’s bits, read at any time in any order (property)', () => {
    fc.assert(
      fc.property(caseOf, (c) => {
        const want = runCase(c, 'off')
        const got = runCase(c, 'always')
        expect(got.length).toBe(want.length)
        for (let i = 0; i < want.length; i++) expect(got[i], `entry ${i}`).toBe(want[i])
      }),
      { numRuns: 60 },
    )
  })

  it('are lazy, and a late read replays at most K steps', () => {
    const K = RESIDENT_SETTLE_EVERY
    const f = gradientOf(false)
    const steps = Array.from({ length: 5 * K + 3 }, (_, i) => i)
    for (const name of Object.keys(passOptimizers)) {
      const op = passOptimizers[name]()
      const states = withWasm('always', () => {
        let out: TrainState<P>[] = []
        train({
          params: paramsOf(3, 2, 3, 4, false),
          data: steps,
          step: pipe(gradient(f), op as never),
        })
          .pipe(maxSteps(steps.length), toArray())
          .subscribe((v) => (out = v as TrainState<P>[]))
        return out
      })
      // the gradient read nothing: the pass copied out only every K-th step's arrays
      expect(residentReads.copied + residentReads.replayed, name).toBe(0)
      expect(lazyDataOf(states[steps.length].params.W), name).toBeDefined()
      const want = withWasm('off', () => {
        let out: TrainState<P>[] = []
        train({
          params: paramsOf(3, 2, 3, 4, false),
          data: steps,
          step: pipe(gradient(f), passOptimizers[name]() as never),
        })
          .pipe(maxSteps(steps.length), toArray())
          .subscribe((v) => (out = v as TrainState<P>[]))
        return out
      })
      for (let i = states.length - 1; i >= 0; i--) {
        const before = residentReads.replayed
        expect(bitsOf(states[i]), `${name} state ${i}`).toBe(bitsOf(want[i]))
        // per leaf at most K steps replayed (2 leaves)
        expect(residentReads.replayed - before, `${name} state ${i}`).toBeLessThanOrEqual(2 * K)
      }
      residentReads.copied = residentReads.replayed = 0
    }
  })

  it('of an idle run whose memory another run took over are not copied out, and replay', async () => {
    const f = gradientOf(false)
    for (const name of ['scheduleFreeSgd', 'adam']) {
      // a fresh copy of the modules: the pool empty, so the arena taken over is run A's
      vi.resetModules()
      const gs = await import('gradstream')
      const ops = await import('gradstream/operators')
      const wasm = await import('../../src/engine/wasmPass.js')
      const { residentReads: reads } = await import('../../src/engine/residentStates.js')
      const make = () =>
        name === 'adam'
          ? ops.adam(0.05)
          : ops.scheduleFreeSgd(0.1, { warmupSteps: 2, weightDecay: 1e-3 })
      const run = (mode: 'always' | 'off', seed: number, n: number) => {
        const was = wasm.setPassWasm(mode)
        let out: TrainState<P>[] = []
        gs.train({
          params: paramsOf(seed, 3, 4, 5, false),
          data: Array.from({ length: n }, (_, i) => seed + i),
          step: pipe(ops.gradient(f), make() as never),
        })
          .pipe(ops.maxSteps(n), toArray())
          .subscribe((v) => (out = v as TrainState<P>[]))
        wasm.setPassWasm(was)
        return out
      }
      // A's last 5 steps held unsettled (K = 8); B starts while A was just used: a memory of its own
      const a = run('always', 1, 13)
      run('always', 2, 40)
      expect(wasm.residentArenas(), name).toEqual({ arenas: 2, takeovers: 0, moves: 0 })
      // C starts after A was idle for 40 steps: A's memory, written over by C's steps
      const settled = reads.settled
      run('always', 3, 3)
      expect(wasm.residentArenas(), name).toEqual({ arenas: 2, takeovers: 1, moves: 0 })
      expect(reads.settled - settled, `${name}: copied out at the takeover`).toBe(0)
      const want = run('off', 1, 13)
      const replayed = reads.replayed
      for (const i of [13, 12, 9, 11, 10, 0, 8]) {
        expect(bitsOf(a[i]), `${name} state ${i}`).toBe(bitsOf(want[i]))
      }
      expect(reads.replayed, name).toBeGreaterThan(replayed)
    }
  })

  it('evaluation parameters of schedule-free read late equal the eager ones', () => {
    const f = gradientOf(false)
    const steps = Array.from({ length: 19 }, (_, i) => i)
    const run = (mode: 'always' | 'off') =>
      withWasm(mode, () => {
        let out: TrainState<P>[] = []
        train({
          params: paramsOf(5, 3, 4, 2),
          data: steps,
          step: pipe(gradient(f), scheduleFreeSgd(0.2) as never),
        })
          .pipe(maxSteps(steps.length), toArray())
          .subscribe((v) => (out = v as TrainState<P>[]))
        return out.map((s) => () => scheduleFreeEvalParams(s as never) as P)
      })
    const got = run('always')
    const want = run('off')
    for (const i of [7, 2, 19, 11, 0, 18]) {
      const bits = (p: P) => bitsOf({ params: p, opt: {} } as unknown as TrainState<P>)
      expect(bits(got[i]()), `state ${i}`).toBe(bits(want[i]()))
    }
  })

  it('the tape copies a lazy parameter where it computes, its data not made', () => {
    const net = mlp({ sizes: [12, 8, 3], seed: 4 })
    const batches = Array.from({ length: 20 }, (_, s) => ({
      x: { shape: [5, 12], data: Float64Array.from({ length: 60 }, (_, i) => wave(s, i, 1)) },
      t: {
        shape: [5, 3],
        data: Float64Array.from({ length: 15 }, (_, i) => (i % 3 === s % 3 ? 1 : 0)),
      },
    }))
    const run = (mode: 'always' | 'off') =>
      withWasm(mode, () => {
        let out: TrainState[] = []
        train({
          params: net.params,
          data: batches,
          step: pipe(
            gradient((p: typeof net.params, b: (typeof batches)[0]) =>
              net.lossAndGradient(p, b.x, b.t),
            ),
            adam(0.01),
          ),
        })
          .pipe(maxSteps(batches.length), toArray())
          .subscribe((v) => (out = v))
        return out
      })
    const got = run('always')
    expect(residentReads.copied + residentReads.replayed).toBe(0)
    const want = run('off')
    // kept states' parameters through the tape again, late (the memory holds only the last)
    const b0 = batches[0]
    for (const i of [3, 17, 0, 20, 9, 12]) {
      const again = net.lossAndGradient(got[i].params as typeof net.params, b0.x, b0.t)
      const eager = net.lossAndGradient(want[i].params as typeof net.params, b0.x, b0.t)
      expect(again.loss, `state ${i}`).toBe(eager.loss)
    }
    for (let i = got.length - 1; i >= 0; i--) {
      expect(got[i].loss).toBe(want[i].loss)
      expect(bitsOf(got[i] as never), `state ${i}`).toBe(bitsOf(want[i] as never))
    }
  })
  it('take the tape’s lazy gradient where it lies, and replay from it when read late', () => {
    // batches drawn as compressed rows: the tape leaves ∂W1 lazy in its memory, the pass copies
    // it from there unread, and a late read replays the step from it (recomputed or copied)
    setKernelBackend('wasm')
    setKernelThreads(1)
    try {
      const net = mlp({ sizes: [784, 16, 10], seed: 2 })
      const data = images(3, 240)
      const run = (mode: 'always' | 'off') =>
        withWasm(mode, () => mlpAdamRun(net, data, { batchSize: 24, seed: 5, steps: 21 }))
      const made = lazyGradients.made
      const read = lazyGradients.copied + lazyGradients.recomputed + lazyGradients.inCall
      const got = run('always')
      expect(lazyGradients.made).toBeGreaterThan(made)
      expect(lazyGradients.copied + lazyGradients.recomputed + lazyGradients.inCall).toBe(read)
      expect(residentReads.copied + residentReads.replayed).toBe(0)
      const want = run('off')
      for (const i of [20, 4, 13, 0, 9, 17, 1]) {
        expect(got[i].loss, `state ${i}`).toBe(want[i].loss)
        expect(bitsOf(got[i] as never), `state ${i}`).toBe(bitsOf(want[i] as never))
      }
      expect(residentReads.replayed).toBeGreaterThan(0)
    } finally {
      setKernelBackend('auto')
      setKernelThreads('auto')
    }
  })
})
