import fc from 'fast-check'
import { lastValueFrom, pipe, take, toArray } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import {
  checkpoint,
  mapTree,
  resume,
  tensor,
  train,
  type Tensor,
  type TrainState,
} from 'gradstream'
import {
  adagrad,
  adam,
  adamw,
  chain,
  cosineDecay,
  gradient,
  gradientTransform,
  lion,
  maxSteps,
  momentum,
  multiSteps,
  nesterov,
  rmsprop,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
  type MultiStepsState,
} from 'gradstream/operators'
import { expectClose } from '../../helpers/expectClose.js'
import { runSync, sameBits, value } from '../transforms/fixture.js'
import { setPassWasm } from '../../../src/engine/wasmPass.js'

type P = { readonly w: Tensor; readonly b: number }
const flat = (p: P) => [...p.w.data, p.b]

/** A gradient that changes from step to step (a "batch" per step): g = θ³ + sin(step + i). */
const varying = (p: P, batch: number) => {
  const g = flat(p).map((v, i) => v ** 3 + Math.sin(batch + i))
  return { loss: 0, grad: { w: tensor(g.slice(0, 3)), b: g[3] } }
}
const batches = (n: number) => Array.from({ length: n }, (_, i) => i)

/** n steps with a new batch each step (the driver is synchronous: collected as they come). */
function run(params: P, optimizer: ReturnType<typeof sgd>, n: number): TrainState<P>[] {
  const out: TrainState<P>[] = []
  train({ params, step: pipe(gradient(varying), optimizer), data: batches(n) })
    .pipe(maxSteps(n))
    .subscribe((s) => out.push(s as TrainState<P>))
  return out
}

const P0: P = { w: tensor([0.5, -0.3, 0.2]), b: 0.1 }
const optimizers = {
  sgd: () => sgd(0.1),
  sgdCosine: () => sgd(cosineDecay({ init: 0.1, steps: 5 })),
  momentum: () => momentum(0.1),
  nesterov: () => nesterov(0.1),
  adagrad: () => adagrad(0.1),
  rmsprop: () => rmsprop(0.1),
  adam: () => adam(0.1),
  adamw: () => adamw(0.1),
  lion: () => lion(0.1),
}
const names = Object.keys(optimizers) as (keyof typeof optimizers)[]

describe('multiSteps', () => {
  it('documents its example', async () => {
    const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } })
    const states = await lastValueFrom(
      train({ params: { w: 1 }, step: pipe(gradient(f), multiSteps(2, sgd(0.25))) }).pipe(
        maxSteps(4),
        toArray(),
      ),
    )
    expect(states.map((s) => s.params.w)).toEqual([1, 1, 0.5, 0.5, 0.25])
  })

  it('k = 3 around adam: every third step adam runs once on the mean of the three gradients (written out)', async () => {
    const k = 3
    const states = run(P0, multiSteps(k, adam(0.1)), 12)
    // adam on the means, by hand: m ← β1·m + (1−β1)·ḡ, v ← β2·v + (1−β2)·ḡ², θ −= η·m̂/(√v̂ + ε)
    let x = flat(P0)
    let m = [0, 0, 0, 0]
    let v = [0, 0, 0, 0]
    const acc: number[][] = []
    for (let t = 1; t <= 12; t++) {
      acc.push(x.map((xi, i) => xi ** 3 + Math.sin(t - 1 + i)))
      if (t % k === 0) {
        const g = x.map((_, i) => (acc[0][i] + acc[1][i] + acc[2][i]) / 3)
        acc.length = 0
        const n = t / k
        m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i])
        v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] ** 2)
        x = x.map(
          (xi, i) =>
            xi - (0.1 * (m[i] / (1 - 0.9 ** n))) / (Math.sqrt(v[i] / (1 - 0.999 ** n)) + 1e-8),
        )
      }
      // the running mean rounds differently from (a + b + c)/3 (an ulp), Adam's step is
      // η·m̂/√v̂ ≈ η·sign: its error stays at a few ulp of η
      x.forEach((xi, i) =>
        expectClose(flat(states[t].params)[i], xi, { atol: 1e-14 }, `θ${t}[${i}]`),
      )
      const slot = states[t].opt.multiSteps as MultiStepsState
      expect(slot.count).toBe(t % k)
    }
  })

  it('multiSteps(1, opt) ≡ opt, bit for bit: parameters, slots, loss (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(value, { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 8 }),
        (name, x, n) => {
          const p0: P = { w: tensor(x.slice(0, 3)), b: x[3] }
          const plain = run(p0, optimizers[name](), n)
          const wrapped = run(p0, multiSteps(1, optimizers[name]()), n)
          for (let t = 1; t <= n; t++) {
            expect(sameBits(wrapped[t].params, plain[t].params), `θ${t}`).toBe(true)
            expect(wrapped[t].loss).toBe(plain[t].loss)
            const inner = (wrapped[t].opt.multiSteps as MultiStepsState).inner as Record<
              string,
              unknown
            >
            const { multiSteps: _, ...rest } = wrapped[t].opt
            expect(rest).toEqual({})
            expect(inner).toEqual(plain[t].opt)
          }
        },
      ),
      { numRuns: 50 },
    )
  })

  it('multiSteps(k, sgd) on a fixed batch is sgd with the same gradient every k-th step, bit for bit (property)', () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        (x, k, updates, scheduled) => {
          const p0: P = { w: tensor(x.slice(0, 3)), b: x[3] }
          const lr = () => (scheduled ? cosineDecay({ init: 0.1, steps: 4 }) : 0.1)
          const fixed = (p: P) => varying(p, 0) // the same batch every step
          const go = (o: ReturnType<typeof sgd>, n: number) => {
            const out: TrainState<P>[] = []
            train({ params: p0, step: pipe(gradient(fixed), o) })
              .pipe(maxSteps(n))
              .subscribe((s) => out.push(s))
            return out
          }
          const plain = go(sgd(lr()), updates)
          const wrapped = go(multiSteps(k, sgd(lr())), updates * k)
          for (let t = 0; t <= updates * k; t++) {
            // in between, the parameters keep their bits (the updates are −0)
            const ref = plain[Math.floor(t / k)].params
            expect(sameBits(wrapped[t].params, ref), `step ${t}`).toBe(true)
          }
        },
      ),
      { numRuns: 100 },
    )
  })

  it('a long leaf’s running mean, read late in any order, is the mean summed step by step (property)', () => {
    // leaves long enough to be summed when read (src/engine/runningMean.ts), k past the terms a
    // lazy mean keeps; the reference is optax's m ← m + (g − m)/(n + 1) written out here, over
    // the gradients the states hold, one array per step
    const len = 5000
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
        (k, n, order) => {
          const grads = (p: { w: Tensor; b: number }, step: number) => {
            const g = new Float64Array(len)
            for (let i = 0; i < len; i++)
              g[i] = Math.sin(step * 7 + i) * (1 + (i % 5)) + p.w.data[i] * 1e-3
            return { loss: 0, grad: { w: { shape: [len], data: g }, b: Math.cos(step) } }
          }
          const states: TrainState<{ w: Tensor; b: number }>[] = []
          const p0 = { w: { shape: [len], data: new Float64Array(len).fill(0.5) }, b: 0.25 }
          train({
            params: p0,
            step: pipe(gradient(grads), multiSteps(k, adam(0.01))),
            data: batches(n),
          })
            .pipe(maxSteps(n))
            .subscribe((s) => states.push(s as never))
          // read every state's mean late, in a random order
          const picks = order.map((r) => 1 + (r % n))
          for (const t of picks) {
            const slot = states[t].opt.multiSteps as MultiStepsState
            const count = slot.count
            const mean = (slot.mean as { w: Tensor }).w.data
            const expected = new Float64Array(len)
            // this cycle's gradients: steps t − count + 1 … t (count 0: the cycle ended, zeros)
            for (let i = 0; i < len; i++) {
              let m = 0
              for (let c = 0; c < count; c++) {
                const g = (states[t - count + 1 + c].grad as { w: Tensor }).w.data[i]
                m = c === 0 ? g : m + (g - m) / (c + 1)
              }
              expected[i] = m
            }
            expect(sameBits(mean, expected), `step ${t}, count ${count}`).toBe(true)
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  describe('through the engine: the wrapped optimizer’s k-th step runs in its pass', () => {
    // multiSteps runs the wrapped optimizer through the engine's plan (chainStep's
    // optimizerStep: the resident wasm pass on long leaves, θ′ and slots left there as lazy
    // tensors) and sums the mean in place (src/engine/runningMean.ts). The reference is optax's
    // MultiSteps written out here over the optimizer's own pair (its `update`, the JavaScript
    // rules, θ + u): every state, read during the run or late in any order, resumed from a
    // checkpoint or from a kept (lazy) state mid-cycle, must hold its bits.
    afterEach(() => void setPassWasm('auto'))
    type Q = { readonly w: Tensor; readonly v: Tensor; readonly b?: number }
    const LONG = 4100 // ≥ the resident pass's and the running mean's 4,096 ('auto')
    const inners = {
      adam: () => adam(0.05),
      adamw: () => adamw(0.05, { weightDecay: 0.1 }),
      momentum: () => momentum(0.1),
      sgdCosine: () => sgd(cosineDecay({ init: 0.1, steps: 4 })),
      lion: () => lion(0.01),
      // a user's transform reading the wrapped optimizer's own step count, before Adam
      stepped: () =>
        chain(
          gradientTransform({
            name: 'byStep',
            hyper: {},
            init: () => undefined,
            update: (u, s, ctx) => [mapTree(u, (v) => v / (ctx.step + 1)), s],
          }),
          scaleByAdam(),
          scaleByLearningRate(0.05),
        ) as unknown as ReturnType<typeof sgd>,
    }
    const inner = Object.keys(inners) as (keyof typeof inners)[]
    const leafNames = (q: Q) => Object.keys(q).sort() as (keyof Q)[]
    const arrays = (q: Q) =>
      leafNames(q).map((k) =>
        typeof q[k] === 'number' ? [q[k] as number] : [...(q[k] as Tensor).data],
      )
    const tree = (like: Q, xs: number[][]): Q => {
      const out: Record<string, unknown> = {}
      leafNames(like).forEach((k, j) => {
        out[k] = typeof like[k] === 'number' ? xs[j][0] : tensor(xs[j])
      })
      return out as Q
    }
    /** g = sin(7·step + i)·(1 + i mod 5) (+ 1e-3·θ when `readsTheta`): a "batch" per step */
    const gradOf = (readsTheta: boolean) => (q: Q, step: number) => {
      const g = arrays(q).map((xs, j) =>
        xs.map((x, i) => Math.sin(7 * step + i + j) * (1 + (i % 5)) + (readsTheta ? 1e-3 * x : 0)),
      )
      return { loss: 0, grad: tree(q, g) }
    }
    /** optax's MultiSteps over the pair of `make()`, written out: states 0 … n */
    function reference(
      make: () => ReturnType<typeof sgd>,
      k: number,
      q0: Q,
      n: number,
      g: ReturnType<typeof gradOf>,
    ) {
      const pair = make().transform
      const hyperAt = (j: number) =>
        Object.fromEntries(
          Object.entries(pair.hyper).map(([f, spec]) => {
            const v = spec.value as number | ((step: number) => number)
            return [f, typeof v === 'function' ? v(j) : v]
          }),
        )
      let theta = q0
      let slot: unknown = pair.init(q0)
      let mean: number[][] = []
      const out = [
        { params: theta, inner: slot, mean: arrays(q0).map((xs) => xs.map(() => 0)), count: 0 },
      ]
      for (let t = 0; t < n; t++) {
        const x = arrays(g(theta, t).grad)
        const c = t % k
        mean = c === 0 ? x : mean.map((m, j) => m.map((mi, i) => mi + (x[j][i] - mi) / (c + 1)))
        let count = c + 1
        if (count === k) {
          const ctx = { step: Math.floor(t / k), params: theta, hyper: hyperAt(Math.floor(t / k)) }
          const [u, next] = pair.update(tree(q0, mean), slot as never, ctx)
          const us = arrays(u as Q)
          theta = tree(
            q0,
            arrays(theta).map((p, j) => p.map((pi, i) => pi + us[j][i])),
          )
          slot = next
          count = 0
        }
        out.push({
          params: theta,
          inner: slot,
          mean: count === 0 ? mean.map((m) => m.map(() => 0)) : mean,
          count,
        })
      }
      return out
    }
    const expectState = (s: TrainState<Q>, r: ReturnType<typeof reference>[number], at: string) => {
      expect(sameBits(s.params, r.params), `${at}: θ`).toBe(true)
      const slot = s.opt.multiSteps as MultiStepsState | undefined
      if (slot === undefined) return expect(s.step, `${at}: no slot`).toBe(0) // the first state
      expect(slot.count, `${at}: count`).toBe(r.count)
      expect(sameBits(arrays(slot.mean as Q).flat(), r.mean.flat()), `${at}: mean`).toBe(true)
      expect(sameBits(slot.inner as never, r.inner as never), `${at}: inner slot`).toBe(true)
    }

    it('equals the JavaScript loop bit for bit: any k, read at any time, resumed mid-cycle (property)', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...inner),
          fc.integer({ min: 1, max: 10 }),
          fc.integer({ min: 1, max: 26 }),
          fc.constantFrom('auto' as const, 'always' as const, 'off' as const),
          fc.record({ numberLeaf: fc.boolean(), readsTheta: fc.boolean(), readNow: fc.boolean() }),
          fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
          fc.nat(),
          (name, k, n, mode, { numberLeaf, readsTheta, readNow }, order, at) => {
            setPassWasm(mode)
            const long = Array.from({ length: LONG }, (_, i) => Math.cos(i) / 2)
            const q0: Q = {
              w: tensor(long),
              v: tensor([0.5, -0.25, 0.125]),
              ...(numberLeaf ? { b: 0.3 } : {}),
            }
            const g = gradOf(readsTheta)
            const ref = reference(inners[name], k, q0, n, g)
            // one multiSteps for every run below (its engine step and mean home are shared)
            const op = multiSteps(k, inners[name]())
            const step = pipe(
              gradient((q: Q, b: number) => g(q, b)),
              op,
            )
            const states: TrainState<Q>[] = []
            train({ params: q0, step, data: batches(n) })
              .pipe(maxSteps(n))
              .subscribe((s) => {
                states.push(s as TrainState<Q>)
                if (readNow)
                  expectState(s as TrainState<Q>, ref[s.step], `step ${s.step} (as emitted)`)
              })
            // resumed mid-cycle from step j: from a checkpoint (its arrays plain)
            const j = at % (n + 1)
            const fromText: TrainState<Q>[] = []
            resume<Q>(checkpoint(states[j]), { step, data: batches(n) }) // (skips j)
              .pipe(take(n - j + 1))
              .subscribe((s) => fromText.push(s as TrainState<Q>))
            // and two runs from kept (lazy) states j and j2, stepped by hand in turn: each finds
            // the other's numbers in the shared pass and accumulator
            const j2 = Math.floor(at / (n + 1)) % (n + 1)
            const byHand = [[states[j]], [states[j2]]]
            for (let t = 0; t < n; t++) {
              for (const run of byHand) {
                const s = run[run.length - 1]
                if (s.step < n) run.push(runSync({ ...s, batch: s.step }, step) as TrainState<Q>)
              }
            }
            // every state read late, in a random order
            const picks = [...order.map((r) => r % (n + 1)), ...states.keys()]
            for (const t of picks) expectState(states[t], ref[t], `step ${t}`)
            fromText.forEach((s) =>
              expectState(s, ref[s.step], `resumed at ${j} (checkpoint): step ${s.step}`),
            )
            expect(fromText).toHaveLength(n - j + 1)
            byHand.forEach((run, r) => {
              expect(run).toHaveLength(n - run[0].step + 1)
              run.forEach((s) =>
                expectState(s, ref[s.step], `run ${r} from ${run[0].step}: step ${s.step}`),
              )
            })
          },
        ),
        { numRuns: 40 },
      )
    })

    it('its updates are the wrapped pair’s, made when read (multiSteps(1, opt).transform ≡ opt.transform)', () => {
      for (const name of inner) {
        for (const mode of ['auto', 'off'] as const) {
          setPassWasm(mode)
          const long = Array.from({ length: LONG }, (_, i) => Math.sin(i))
          const q: Q = { w: tensor(long), v: tensor([1, -2, 3]) }
          const { grad } = gradOf(false)(q, 3)
          const plain = inners[name]().transform
          const wrapped = multiSteps(1, inners[name]()).transform
          const slot = plain.init(q) as never
          const ctx = (h: object) => ({ step: 2, params: q, hyper: h as Record<string, number> })
          const hyper = Object.fromEntries(
            Object.entries(plain.hyper).map(([f, spec]) => {
              const v = spec.value as number | ((step: number) => number)
              return [f, typeof v === 'function' ? v(2) : v]
            }),
          )
          const inner = Object.fromEntries(Object.entries(hyper).map(([f, v]) => [`inner.${f}`, v]))
          const [u0, s0] = plain.update(grad, slot as never, ctx(hyper))
          const [u1, s1] = wrapped.update(grad, wrapped.init(q), ctx(inner))
          expect(sameBits(u1, u0), `${name} ${mode}: u`).toBe(true)
          expect(
            sameBits((s1 as MultiStepsState).inner as never, s0 as never),
            `${name} ${mode}: slot`,
          ).toBe(true)
        }
      }
    })
  })

  it('keeps θ itself between updates (θ + (−0) is θ, not made again); states keep their values', () => {
    const snapshots: number[][] = []
    const states: TrainState<P>[] = []
    train({ params: P0, step: pipe(gradient(varying), multiSteps(3, adam(0.1))), data: batches(8) })
      .pipe(maxSteps(8))
      .subscribe((s) => (states.push(s as TrainState<P>), snapshots.push(flat(s.params as P))))
    for (let t = 1; t <= 8; t++) {
      if (t % 3 === 0) expect(flat(states[t].params)).not.toEqual(flat(states[t - 1].params))
      else expect(states[t].params).toBe(states[t - 1].params)
    }
    expect(states.map((s) => flat(s.params))).toEqual(snapshots)
  })

  it('validates', () => {
    expect(() => multiSteps(0, sgd(1))).toThrow(
      new RangeError('multiSteps: k: expected a positive integer, got 0'),
    )
    expect(() => multiSteps(2, sgd(1), { every: 2 } as never)).toThrow(
      new TypeError('multiSteps: options.every: expected no such key (known: name), got 2'),
    )
    expect(() => multiSteps(2, {})).toThrow(
      new TypeError(
        'multiSteps: optimizer: expected an optimizer such as adam(1e-3) or a transform such as scaleByAdam(), got an object',
      ),
    )
  })
})
