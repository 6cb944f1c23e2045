import fc from 'fast-check'
import { lastValueFrom, map, pipe, tap, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  mapTree,
  mlp,
  randomBatches,
  tensor,
  train,
  type Tensor,
  type TrainState,
  type WithGradient,
} from 'gradstream'
import {
  applyUpdates,
  gradient,
  maxSteps,
  scaleByBacktrackingLinesearch,
  scaleByLearningRate,
  type ScaleByBacktrackingLinesearchState,
} from 'gradstream/operators'
import { runSync, sameBits, value, withGradientState } from './fixture.js'
import { images } from '../../helpers/sparseRows.js'
import { onWasmOneThread } from '../../helpers/wasmOneThread.js'
import { lazyGradients, setLazyGradients } from '../../../src/autodiff/lazyGradient.js'
import { keptSums, setKeptSums } from '../../../src/tensor/keptSums.js'
import { lazyDataOf } from '../../../src/tensor/lazyData.js'

const sumSq = (x: Tensor) => x.data.reduce((s, v) => s + v * v, 0)
const grad2x = (x: Tensor) => ({ loss: sumSq(x), grad: tensor([...x.data].map((v) => 2 * v)) })
const name = 'scaleByBacktrackingLinesearch'

function run<B>(
  f: (x: Tensor, b: B) => number,
  fg: (x: Tensor, b: B) => { loss: number; grad: Tensor },
  x0: number[],
  n: number,
  options: Parameters<typeof scaleByBacktrackingLinesearch>[1] = {},
  data?: B[],
): TrainState<Tensor>[] {
  const out: TrainState<Tensor>[] = []
  const step = pipe(
    gradient(fg),
    scaleByLearningRate(1), // optax's sgd(learning_rate=1.)
    scaleByBacktrackingLinesearch(f, options),
    applyUpdates(),
  )
  train({ params: tensor(x0), step, ...(data ? { data } : {}) })
    .pipe(maxSteps(n))
    .subscribe((s) => out.push(s))
  return out
}

describe('scaleByBacktrackingLinesearch', () => {
  it("optax's docstring, f(x) = Σx² from [1, 2, 3] after sgd(1): 5.04, 1.81, 0.653, 0.235, 0.0847", () => {
    const states = run(sumSq, grad2x, [1, 2, 3], 5, { maxBacktrackingSteps: 15 })
    expect(states.slice(1).map((s) => sumSq(s.params).toPrecision(3))).toEqual([
      '5.04',
      '1.81',
      '0.653',
      '0.235',
      '0.0847',
    ])
    // η = 1 fails (x → −x), 0.8 passes; the next guesses min(1.5·0.8, 1) = 1 again: 2 calls a step
    expect(states.map((s) => s.evaluations)).toEqual([0, 3, 6, 9, 12, 15])
    expect(states[5].hyper[`${name}.lr`]).toBe(0.8)
    expect((states[5].opt[name] as ScaleByBacktrackingLinesearchState).learningRate).toBe(0.8)
  })

  it("optax's docstring with data, ½(x·θ − y)² on five copies of one batch: 38.6, 25.0, 13.4, 5.87, 5.81", () => {
    type B = { x: number[]; y: number }
    const f = (p: Tensor, b: B) => 0.5 * (b.x.reduce((s, v, i) => s + v * p.data[i], 0) - b.y) ** 2
    const fg = (p: Tensor, b: B) => {
      const r = b.x.reduce((s, v, i) => s + v * p.data[i], 0) - b.y
      return { loss: 0.5 * r * r, grad: tensor(b.x.map((v) => r * v)) }
    }
    const batch = { x: [3, 2, 1], y: 0 }
    const states = run(
      f,
      fg,
      [1, 2, 3],
      5,
      {},
      Array.from({ length: 5 }, () => batch),
    )
    expect(states.slice(1).map((s) => f(s.params, batch).toPrecision(3))).toEqual([
      '38.6',
      '25.0',
      '13.4',
      '5.87',
      '5.81',
    ])
  })

  it('the accepted η satisfies Armijo, or all steps were used (property)', () => {
    // f = Σ a_i·x_i⁴ + x_i·sin(x_i): non-convex, smooth
    const fOf = (a: number[]) => (x: Tensor) =>
      x.data.reduce((s, v, i) => s + a[i] * v ** 4 + v * Math.sin(v), 0)
    const gOf = (a: number[]) => (x: Tensor) => ({
      loss: fOf(a)(x),
      grad: tensor([...x.data].map((v, i) => 4 * a[i] * v ** 3 + Math.sin(v) + v * Math.cos(v))),
    })
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 }),
        fc.array(value, { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.double({ min: 0.1, max: 0.9, noNaN: true }),
        (a, x0, maxBacktrackingSteps, decreaseFactor) => {
          const slopeRtol = 0.3
          const states = run(fOf(a), gOf(a), x0, 4, {
            maxBacktrackingSteps,
            decreaseFactor,
            slopeRtol,
          })
          for (let t = 1; t < states.length; t++) {
            const before = states[t - 1].params
            const g = gOf(a)(before).grad.data
            const eta = states[t].hyper[`${name}.lr`]
            const calls = states[t].evaluations - states[t - 1].evaluations - 1
            const slope = -g.reduce((s, v) => s + v * v, 0) // ⟨u, g⟩ with u = −g
            const moved = tensor([...before.data].map((v, i) => v - eta * g[i]))
            const armijo = fOf(a)(moved) <= fOf(a)(before) + slopeRtol * eta * slope
            expect(armijo || calls === maxBacktrackingSteps + 1, `step ${t}: η ${eta}`).toBe(true)
            expect(calls).toBeGreaterThanOrEqual(1)
            expect(calls).toBeLessThanOrEqual(maxBacktrackingSteps + 1)
          }
        },
      ),
    )
  })

  it('evaluates trials in one scratch array for the run; the accepted one becomes the parameters', () => {
    const seen: Float64Array[][] = [] // per step, the arrays f saw
    const last: number[][] = [] // per step, the numbers of the last trial point, when f saw it
    const f = (x: Tensor) => (
      seen[seen.length - 1].push(x.data),
      (last[seen.length - 1] = [...x.data]),
      sumSq(x)
    )
    const fg = (x: Tensor) => (seen.push([]), grad2x(x))
    const states = run(f, fg, [1, 2, 3], 3)
    // one array for every trial of the run, never handed out: the parameters are a copy
    expect(new Set(seen.flat()).size).toBe(1)
    for (const [t, s] of states.slice(1).entries()) {
      expect(s.params.data).not.toBe(seen[t][0])
      expect(seen.flat().includes(s.grad!.data)).toBe(false)
      expect([...s.params.data]).toEqual(last[t])
    }
    // the same numbers as a fresh array per trial would give (the docstring's), read after the
    // run: no later trial wrote into an earlier state's parameters
    const values = states.slice(1).map((s) => sumSq(s.params).toPrecision(3))
    expect(values).toEqual(['5.04', '1.81', '0.653'])
  })

  it('its handed-over θ + η·u is bit for bit what applyUpdates computes, and only for that step', () => {
    const f = (x: Tensor) => x.data.reduce((a, v, i) => a + Math.cosh(v * (i + 1)), 0)
    const fg = (x: Tensor) => ({
      loss: f(x),
      grad: tensor([...x.data].map((v, i) => (i + 1) * Math.sinh(v * (i + 1)))),
    })
    const states = (between: (s: WithGradient<Tensor>) => WithGradient<Tensor>) => {
      const step = pipe(
        gradient(fg),
        scaleByLearningRate(0.7),
        scaleByBacktrackingLinesearch(f, { decreaseFactor: 0.5 }),
        map(between),
        applyUpdates(),
      )
      let out: TrainState<Tensor>[] = []
      train({ params: tensor([1.3, -0.7, 0.2, 2]), step })
        .pipe(maxSteps(8), toArray())
        .subscribe((v) => (out = v))
      return out
    }
    const handed = states((s) => s)
    // updates copied: a tree the line search never saw, so applyUpdates computes θ + u itself
    const computed = states((s) => ({ ...s, updates: mapTree(s.updates, (v) => v) }))
    expect(handed.map((s) => [...s.params.data])).toEqual(computed.map((s) => [...s.params.data]))
    expect(new Set(handed.map((s) => s.hyper[`${name}.lr`])).size).toBeGreaterThan(1)
    // other parameters under the same updates: computed, not handed over
    const half = (s: WithGradient<Tensor>) => ({
      ...s,
      params: tensor([...s.params.data].map((v) => v / 2)),
    })
    const moved = states(half)
    const movedComputed = states((s) => ({ ...half(s), updates: mapTree(s.updates, (v) => v) }))
    expect(moved.map((s) => [...s.params.data])).toEqual(
      movedComputed.map((s) => [...s.params.data]),
    )
  })

  it('η = 1 accepted: the updates are u itself (1·u = u, bit for bit)', () => {
    // u = −x/2 halves x: f drops fourfold, so η = 1 passes at the first call
    const x = tensor([1, 2, 3])
    const u = tensor([-0.5, -1, -1.5])
    const s = withGradientState(x, grad2x(x).grad, { baseLoss: sumSq(x), updates: u })
    const after = runSync(s, scaleByBacktrackingLinesearch(sumSq))
    expect(after.hyper[`${name}.lr`]).toBe(1)
    expect(after.evaluations).toBe(1)
    expect(Array.from((after.updates as Tensor).data)).toEqual([-0.5, -1, -1.5])
  })

  it('η = 0 when f is NaN wherever it looks (optax: no step into an undefined region)', () => {
    const f = (x: Tensor) => (x.data[0] === 1 ? 1 : NaN)
    const states = run(f, () => ({ loss: 1, grad: tensor([1]) }), [1], 2, {
      maxBacktrackingSteps: 3,
    })
    expect(states[1].params.data[0]).toBe(1)
    expect(states[1].hyper[`${name}.lr`]).toBe(0)
    expect(states[1].evaluations).toBe(1 + 4)
  })

  it('starts from min(η_prev·increaseFactor, maxLearningRate)', () => {
    const states = run(sumSq, grad2x, [1, 2, 3], 2, { maxLearningRate: 0.3, increaseFactor: 1 })
    // 0.3 passes at once on Σx²: one call each step
    expect(states.map((s) => s.evaluations)).toEqual([0, 2, 4])
    expect(states[2].hyper[`${name}.lr`]).toBe(0.3)
  })

  it('needs a gradient: placed before one, the pipe does not compile', () => {
    const f = (x: Tensor) => sumSq(x)
    const misordered = () =>
      // @ts-expect-error the line search reads `grad` and `updates`, which `gradient` adds
      train({ params: tensor([1]), step: pipe(scaleByBacktrackingLinesearch(f), applyUpdates()) })
    expect(typeof misordered).toBe('function')
  })

  it('validates', () => {
    const f = () => 0
    expect(() => scaleByBacktrackingLinesearch(1 as never)).toThrow(
      new TypeError(`${name}: fn: expected a function, got 1`),
    )
    expect(() => scaleByBacktrackingLinesearch(f, { maxSteps: 3 } as never)).toThrow(
      new TypeError(
        `${name}: options.maxSteps: expected no such key (known: maxBacktrackingSteps, slopeRtol, decreaseFactor, increaseFactor, maxLearningRate), got 3`,
      ),
    )
    expect(() => scaleByBacktrackingLinesearch(f, { decreaseFactor: 1 })).toThrow(
      new RangeError(`${name}: decreaseFactor: expected a number in [0, 1), got 1`),
    )
    expect(() => scaleByBacktrackingLinesearch(f, { maxBacktrackingSteps: 1.5 })).toThrow(
      new RangeError(`${name}: maxBacktrackingSteps: expected a non-negative integer, got 1.5`),
    )
    expect(() => scaleByBacktrackingLinesearch(f, { increaseFactor: 0.5 })).toThrow(
      new RangeError(`${name}: increaseFactor: expected a number in [1, Infinity], got 0.5`),
    )
    expect(() => scaleByBacktrackingLinesearch(f, { maxLearningRate: 0 })).toThrow(
      new RangeError(`${name}: maxLearningRate: expected a positive finite number, got 0`),
    )
  })

  describe('on the tape’s lazy gradients (wasm, one thread)', () => {
    onWasmOneThread()
    it('reads g and u = 1·g where they lie: the same bits as with the gradients made eagerly, left lazy', () => {
      // mlp 784–16–10 on batches of compressed rows: ∂W1 (12,544) a lazy gradient; the line
      // search must not make it (a read turns the next gradients eager) nor read stale scratch
      const net = mlp({ sizes: [784, 16, 10], seed: 2 })
      const data = images(3, 240)
      type B = { x: Tensor; t: Tensor }
      const runs = (lazy: boolean) => {
        const was = setLazyGradients(lazy)
        try {
          let out: TrainState[] = []
          const mid: WithGradient<typeof net.params>[] = [] // its output, before applyUpdates
          train({
            params: net.params,
            data: randomBatches(data, { batchSize: 24, seed: 5 }),
            step: pipe(
              gradient((q: typeof net.params, b: B) => net.lossAndGradient(q, b.x, b.t)),
              scaleByLearningRate(1),
              scaleByBacktrackingLinesearch((q: typeof net.params, b: B) => net.loss(q, b.x, b.t)),
              map((s) => (mid.push(s), s)),
              applyUpdates(),
            ),
          })
            .pipe(maxSteps(12), toArray())
            .subscribe((v) => (out = v))
          return { out, mid }
        } finally {
          setLazyGradients(was)
        }
      }
      // the lazy run first, its states read only after it (a kept state stays valid forever)
      const read = () => lazyGradients.copied + lazyGradients.recomputed + lazyGradients.inCall
      const [made, before] = [lazyGradients.made, read()]
      const got = runs(true)
      expect(lazyGradients.made - made, 'lazy gradients made').toBeGreaterThanOrEqual(11)
      expect(read(), 'lazy gradients read during the run').toBe(before)
      const want = runs(false)
      for (const i of [11, 3, 7, 0, 10, 1]) {
        const [a, b] = [got.mid[i], want.mid[i]]
        expect(sameBits(a.updates, b.updates), `step ${i}: updates`).toBe(true)
        expect(sameBits(a.grad, b.grad), `step ${i}: grad`).toBe(true)
        expect(a.hyper[`${name}.lr`], `step ${i}: η`).toBe(b.hyper[`${name}.lr`])
        const [p, q] = [got.out[i + 1], want.out[i + 1]]
        expect(p.loss, `state ${i + 1}: loss`).toBe(q.loss)
        expect(sameBits(p.params, q.params), `state ${i + 1}: θ`).toBe(true)
      }
    })

    it('keeps θ′ where its trials were written: the bits of fresh arrays, read as emitted or late', () => {
      // W1 (12,544) over 20 steps: its trial points go to two homes taken in turn, the accepted
      // one kept there; a state read as emitted is copied out of its home, one read after the
      // run (its home rewritten since) replayed from θ and u. Either way: the fresh run's bits.
      const net = mlp({ sizes: [784, 16, 10], seed: 3 })
      const data = images(4, 240)
      type B = { x: Tensor; t: Tensor }
      const early = new Set([1, 2, 5, 9, 16]) // steps whose θ′ is read as it is emitted
      // and step 6's, unread, is read by f during step 8's trials, written in the home it had
      const runs = (kept: boolean) => {
        const was = setKeptSums(kept)
        try {
          let out: TrainState<typeof net.params>[] = []
          let sixth: Float64Array | null = null
          const f = (q: typeof net.params, b: B) => {
            if (out.length === 8 && sixth === null) sixth = out[6].params.W1.data.slice()
            return net.loss(q, b.x, b.t)
          }
          train({
            params: net.params,
            data: randomBatches(data, { batchSize: 24, seed: 7 }),
            step: pipe(
              gradient((q: typeof net.params, b: B) => net.lossAndGradient(q, b.x, b.t)),
              scaleByLearningRate(1),
              scaleByBacktrackingLinesearch(f),
              applyUpdates(),
              tap((s) => early.has(s.step) && s.params.W1.data[0]),
            ),
          })
            .pipe(maxSteps(20))
            .subscribe((v) => out.push(v))
          return { out, sixth: sixth! }
        } finally {
          setKeptSums(was)
        }
      }
      const before = { ...keptSums }
      const { out: got, sixth } = runs(true)
      const lazyW1 = got.slice(1).filter((s) => lazyDataOf(s.params.W1) !== undefined).length
      expect(lazyW1, 'states whose W1 is kept').toBe(20)
      const { out: want } = runs(false)
      expect(sameBits(sixth, want[6].params.W1), 'state 6 read during step 8').toBe(true)
      for (const i of [20, 3, 16, 1, 11, 9, 2, 19, 5, 8, 6]) {
        expect(sameBits(got[i].params, want[i].params), `state ${i}: θ`).toBe(true)
      }
      expect(keptSums.copied - before.copied, 'read as emitted: copied out').toBeGreaterThan(0)
      expect(keptSums.replayed - before.replayed, 'read late: replayed').toBeGreaterThan(0)
      expect(got.map((s) => s.hyper[`${name}.lr`])).toEqual(want.map((s) => s.hyper[`${name}.lr`]))
    })
  })
})
