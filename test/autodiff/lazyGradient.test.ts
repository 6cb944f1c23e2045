import fc from 'fast-check'
import { lastValueFrom, type OperatorFunction, pipe, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  ad,
  mlp,
  randomBatches,
  setKernelBackend,
  setKernelThreads,
  train,
  twoLayerNet,
  valueAndGrad,
  type Tensor,
  type Var,
} from 'gradstream'
import { adam, clipByGlobalNorm, gradient, maxSteps, sgd, update } from 'gradstream/operators'
import { lazyGradients, setLazyGradients } from '../../src/autodiff/lazyGradient.js'
import { rowCache, takeRows } from '../../src/tensor/gatheredRows.js'
import { lazyDataOf } from '../../src/tensor/lazyData.js'
import { residentReads } from '../../src/engine/residentStates.js'
import { tapeStats, tapeTuning } from '../../src/parallel/tapeThreads.js'
import { transposeTimes } from '../helpers/referenceGemm.js'
import { images } from '../helpers/sparseRows.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'
import { onWasmOneThread } from '../helpers/wasmOneThread.js'

// On the wasm backend the tape leaves ∂W = xᵀ·δ of a parameter W, x a batch drawn as compressed
// rows, in its arena (src/autodiff/lazyGradient.ts): its `data` is made when read — copied from
// the arena while the call runs or while memory still holds it, else made anew (a net's recipe
// called again; a user's function: from the rows and a copy of δ) — and must be the same numbers
// however late it is read. Products of finite
// numbers are compared bit for bit (Object.is) with the textbook loop: the kernels sum the same
// non-zero terms in the same order, and a skipped 0·δ would only have added ±0 to a sum that is
// never −0 (it starts at +0).

/** Positions where two arrays differ as values (Object.is: NaN = NaN, +0 ≠ −0); expect none. */
const differing = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return [-1]
  const out: number[] = []
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i)
  return out
}

const counts = () => ({ ...lazyGradients })

type Net = ReturnType<typeof mlp>
type P = Net['params']
type State = { readonly params: P; readonly grad: P; readonly loss: number }

/** W3's pipeline with an mlp (gradient, then `step`) for `steps` steps: the states after the first. */
async function run(
  net: Net,
  data: ReturnType<typeof images>,
  seed: number,
  batchSize: number,
  steps: number,
  lazy: boolean,
  step: () => OperatorFunction<any, any> = () => update(0.1),
): Promise<State[]> {
  const was = setLazyGradients(lazy)
  try {
    const all = await lastValueFrom(
      train({
        params: net.params,
        data: randomBatches(data, { batchSize, seed }),
        step: pipe(
          gradient((p: P, b: { x: Tensor; t: Tensor }) => net.lossAndGradient(p, b.x, b.t)),
          step(),
        ),
      }).pipe(maxSteps(steps), toArray()),
    )
    return all.slice(1) as unknown as State[]
  } finally {
    setLazyGradients(was)
  }
}

/**
 * The lazy run's losses are the eager run's, and its states read late in the order `order`
 * gives (every gradient and parameter) hold the eager run's bits.
 */
function expectEagerBits(lazy: State[], eager: State[], order: (i: number) => number): void {
  expect(lazy.map((s) => s.loss)).toEqual(eager.map((s) => s.loss))
  const idx = lazy.map((_, i) => i).sort((a, b) => order(a) - order(b) || a - b)
  for (const i of idx) {
    for (const key of Object.keys(eager[i].params)) {
      expect(differing(lazy[i].grad[key].data, eager[i].grad[key].data)).toEqual([])
      expect(differing(lazy[i].params[key].data, eager[i].params[key].data)).toEqual([])
    }
  }
}

/**
 * mlp 784–h1–h2–10 (ReLU) trained with Adam on `threads` kernel threads: ∂W2 = h1ᵀ·δ2 of 8,192
 * numbers or more is made in the arena and left there as ∂W1 is (no fresh array), and made anew
 * by calling the recipe again when read late. Runs past the resident pass's settle (every 8th
 * step), so late reads replay through settled states.
 */
async function wideAdam(sets: ReturnType<typeof images>[], threads: 1 | 2): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 5, max: 40 }),
      fc.integer({ min: 3, max: 11 }),
      fc.integer({ min: 70, max: 90 }),
      fc.integer({ min: 118, max: 140 }).filter((h) => h !== 128),
      fc.func(fc.integer()),
      async (which, seed, batchSize, steps, h1, h2, order) => {
        const data = sets[which]
        const net = mlp({ sizes: [784, h1, h2, 10], activation: 'relu', seed })
        const before = counts()
        const two = tapeStats.steps
        const step = () => adam(0.01)
        const lazy = await run(net, data, seed, batchSize, steps, true, step)
        expect(tapeStats.steps - two).toBe(threads === 2 ? steps : 0)
        // from the second call on (the first has no arena, its parameters no values) both
        // stayed where the products wrote them: none made, no copy of δ
        expect(counts().made - before.made).toBe(2 * (steps - 1))
        expect({ ...counts(), made: 0 }).toEqual({ ...before, made: 0 })
        for (const s of lazy.slice(1)) {
          expect(lazyDataOf(s.grad.W1)).toBeDefined()
          expect(lazyDataOf(s.grad.W2)).toBeDefined()
        }
        const eager = await run(net, data, seed, batchSize, steps, false, step)
        for (const s of eager) expect(lazyDataOf(s.grad.W2)).toBeUndefined()
        expectEagerBits(lazy, eager, order)
        // each made anew, by calling the recipe again (none still lay where the tape left it)
        expect(counts().recomputed - before.recomputed).toBe(2 * (steps - 1))
        expect(counts().keptDelta).toBe(before.keptDelta)
      },
    ),
    { numRuns: 8 },
  )
}

describe('the tape’s ∂W = xᵀ·δ left lazy in its arena (wasm backend)', () => {
  onWasmOneThread()
  const sets = [images(1, 240), images(2, 240)]

  it('mlp trained with SGD never makes it; read late, in any order, it is the eager run’s bits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 5, max: 100 }),
        fc.integer({ min: 3, max: 5 }),
        // not 32: a multiple of 32 is read padded (paddedStride), W then not copied whole
        fc.integer({ min: 4, max: 40 }).filter((h) => h !== 32),
        fc.constantFrom('sigmoid' as const, 'relu' as const),
        fc.func(fc.integer()),
        async (which, seed, batchSize, steps, hidden, activation, order) => {
          const data = sets[which]
          const net = mlp({ sizes: [784, hidden, 10], activation, init: 0.1, seed })
          const before = counts()
          const lazy = await run(net, data, seed, batchSize, steps, true)
          // from the second call on (the first has no arena yet) ∂W1 stayed in the arena, and
          // the update summed it there: nobody made its data
          expect(counts().made - before.made).toBe(steps - 1)
          expect({ ...counts(), made: 0 }).toEqual({ ...before, made: 0 })
          for (const s of lazy.slice(1)) expect(lazyDataOf(s.grad.W1)).toBeDefined()
          const eager = await run(net, data, seed, batchSize, steps, false)
          for (const s of eager) expect(lazyDataOf(s.grad.W1)).toBeUndefined()
          expectEagerBits(lazy, eager, order)
          // read again: the same array (made once)
          for (const s of lazy) expect(s.grad.W1.data).toBe(s.grad.W1.data)
          // the eager run laid out since: each was made anew (the recipe called again, no copy
          // of δ kept: keptDelta is unchanged above), none copied
          expect(counts().recomputed - before.recomputed).toBe(steps - 1)
          expect(counts().copied).toBe(before.copied)
        },
      ),
      { numRuns: 10 },
    )
  })

  it('mlp trained with Adam (W1 in the resident pass, the short leaves by the JavaScript loop) keeps no copy of δ; read late, the eager run’s bits', async () => {
    // the loop's θ′ are values (markValue) as the resident pass's lazy ones are, so every call
    // after the first leaves ∂W1 lazy with the recipe to call again, not a copy of δ
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 5, max: 60 }),
        fc.integer({ min: 3, max: 5 }),
        fc.integer({ min: 8, max: 40 }).filter((h) => h !== 32),
        fc.func(fc.integer()),
        async (which, seed, batchSize, steps, hidden, order) => {
          const data = sets[which]
          const net = mlp({ sizes: [784, hidden, 10], activation: 'relu', seed })
          const before = counts()
          const step = () => adam(0.01)
          const lazy = await run(net, data, seed, batchSize, steps, true, step)
          expect(counts().made - before.made).toBe(steps - 1)
          expect(counts().keptDelta).toBe(before.keptDelta)
          for (const s of lazy.slice(1)) expect(lazyDataOf(s.grad.W1)).toBeDefined()
          const eager = await run(net, data, seed, batchSize, steps, false, step)
          expectEagerBits(lazy, eager, order)
          // each made anew, by calling the recipe again (none still lay where the tape left it)
          expect(counts().recomputed - before.recomputed).toBe(steps - 1)
        },
      ),
      { numRuns: 8 },
    )
  })

  it('mlp with a wide second layer trained with Adam leaves ∂W1 and ∂W2 in the arena, the pass reads them there; read late, the eager run’s bits', () =>
    wideAdam(sets, 1))

  it('the resident pass settles a chain of remade gradients every 32nd step, others every 8th; read late, the eager run’s bits', async () => {
    // a recipe's lazy ∂W1 and ∂W2 hold no numbers of their own (made by calling it again), so
    // a kept state pins next to nothing however long its chain (wasmPass.ts
    // RESIDENT_SETTLE_UNPINNED); eager gradients are arrays, settled every 8th step as before
    const net = mlp({ sizes: [784, 80, 120, 10], activation: 'relu', seed: 5 })
    // the same loss written by a user: ∂W1 lazy with a copy of δ (it pins that), ∂W2 an array
    const own = valueAndGrad((p: Record<string, Var>, b: { x: Tensor; t: Tensor }) => {
      const h1 = ad.affine(b.x, p.W1, p.b1, 'relu')
      const h2 = ad.affine(h1, p.W2, p.b2, 'relu')
      return ad.softmaxCrossEntropy(ad.affine(h2, p.W3, p.b3), b.t)
    })
    const users = {
      ...net,
      lossAndGradient: (p: P, x: Tensor, t: Tensor) => {
        const { value, grad } = own(p, { x, t })
        return { loss: value, grad }
      },
    }
    const steps = 45
    const trained = async (n: Net, lazy: boolean) => {
      const before = { ...residentReads, ...counts() }
      const states = await run(n, sets[0], 7, 10, steps, lazy, () => adam(0.01))
      const settled = residentReads.settled - before.settled
      return { states, settled, keptDelta: counts().keptDelta - before.keptDelta }
    }
    const lazy = await trained(net, true)
    const eager = await trained(net, false)
    const user = await trained(users as Net, true)
    // θ, m and v of the two resident leaves (W1, W2) at each settle: the lazy chain's at step 8
    // (its first gradients are arrays: the first call has no arena) and at step 40; the eager
    // run's and the user's (δ's copies, ∂W2 arrays) every 8th step
    expect(lazy.settled).toBe(6 * 2)
    expect(eager.settled).toBe(6 * 5)
    expect(user.keptDelta).toBe(steps - 1)
    expect(user.settled).toBe(6 * 5)
    expect(user.states.map((s) => s.loss)).toEqual(eager.states.map((s) => s.loss))
    expect(lazy.states.map((s) => s.loss)).toEqual(eager.states.map((s) => s.loss))
    for (let i = lazy.states.length - 1; i >= 0; i--) {
      const keys = Object.keys(eager.states[i].params)
      const before = residentReads.replayed
      const got = keys.map((key) => lazy.states[i].params[key].data)
      // per resident leaf at most 32 steps replayed
      expect(residentReads.replayed - before).toBeLessThanOrEqual(2 * 32)
      keys.forEach((key, j) =>
        expect(differing(got[j], eager.states[i].params[key].data)).toEqual([]),
      )
    }
  })

  it('a net called on a buffer its caller then rewrites: read late, ∂W1 is still that call’s', () => {
    // a net's recipe makes a late-read gradient by calling again on the same parameters
    // (pureValueAndGrad) only when they are values; parameters over a caller's buffer, written
    // after the call (as SAM's climbed point is), keep δ's copy instead
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (seed, two) => {
        const net = two
          ? (twoLayerNet({ inputSize: 784, hiddenSize: 9, outputSize: 10, seed }) as never as Net)
          : mlp({ sizes: [784, 9, 10], activation: 'sigmoid', init: 0.1, seed })
        const batches = randomBatches(sets[seed % 2], { batchSize: 20, seed })[Symbol.iterator]()
        const b = () => batches.next().value as { x: Tensor; t: Tensor }
        const buf = Float64Array.from(net.params.W1.data)
        const p = { ...net.params, W1: { shape: net.params.W1.shape, data: buf } }
        const first = b()
        net.lossAndGradient(p, first.x, first.t) // the first call plans the arena
        const keptDelta = lazyGradients.keptDelta
        const batch = b()
        const g = net.lossAndGradient(p, batch.x, batch.t).grad.W1
        expect(lazyDataOf(g)).toBeDefined()
        expect(lazyGradients.keptDelta - keptDelta).toBe(1)
        const was = setLazyGradients(false)
        const want = net.lossAndGradient(
          { ...p, W1: { ...p.W1, data: buf.slice() } },
          batch.x,
          batch.t,
        )
        setLazyGradients(was)
        buf.fill(0.25) // the caller reuses its buffer
        const later = b()
        net.lossAndGradient(p, later.x, later.t) // laid out over the arena: g is made anew
        expect(differing(g.data, want.grad.W1.data)).toEqual([])
      }),
      { numRuns: 10 },
    )
  })

  it('a transform reading the gradient (clipByGlobalNorm, then sgd) copies it once, then the tape makes it eagerly: the eager bits', async () => {
    const net = mlp({ sizes: [784, 12, 10], activation: 'sigmoid', init: 0.1, seed: 3 })
    const step = () => pipe(clipByGlobalNorm(0.5), sgd(0.1))
    const before = counts()
    const lazy = await run(net, sets[1], 9, 50, 4, true, step)
    expect(counts().made - before.made).toBe(1)
    expect(counts().copied - before.copied).toBe(1)
    expect(counts().recomputed).toBe(before.recomputed)
    expect(lazy.map((s) => lazyDataOf(s.grad.W1) !== undefined)).toEqual([
      false,
      true,
      false,
      false,
    ])
    const eager = await run(net, sets[1], 9, 50, 4, false, step)
    for (let i = 0; i < 4; i++) {
      expect(lazy[i].loss).toBe(eager[i].loss)
      expect(differing(lazy[i].params.W1.data, eager[i].params.W1.data)).toEqual([])
      expect(differing(lazy[i].grad.W1.data, eager[i].grad.W1.data)).toEqual([])
    }
  })

  // one affine layer under a fixed weighting C: δ = C exactly, so ∂W = xᵀ·C, the loop's bits
  const rowsOf = fc.record({
    which: fc.integer({ min: 0, max: 1 }),
    pick: fc.array(fc.integer({ min: 0, max: 239 }), { minLength: 1, maxLength: 60 }),
    n: fc.integer({ min: 4, max: 60 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  const fill = (seed: number, len: number) => {
    let s = seed
    const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    return Float64Array.from({ length: len }, () => (next() < 0.2 ? 0 : next() * 4 - 2))
  }

  it('read during the call, right after it or after another: xᵀ·δ by the loop, bit for bit', () => {
    fc.assert(
      fc.property(rowsOf, ({ which, pick, n, seed }) => {
        const data = sets[which]
        const cache = rowCache(data.x)!
        const batch = () => takeRows(data.x, pick, 0, pick.length, cache)
        const m = pick.length
        const C = { shape: [m, n], data: fill(seed, m * n) }
        const C2 = { shape: [m, n], data: fill(seed + 1, m * n) }
        const W = { shape: [784, n], data: fill(seed + 2, 784 * n) }
        const b = { shape: [n], data: fill(seed + 3, n) }
        const x = { shape: [m, 784], data: batch().data }
        const want = transposeTimes(x, C)
        const want2 = transposeTimes(x, C2)
        // W in two products of the batch: its second contribution is summed with the first
        // (read during the call), in whichever order the backward pass visits them
        const weighted = (p: { W: Var; b: Var }, xb: Tensor) =>
          ad.sum(ad.mul(ad.affine(xb, p.W, p.b), C))
        const one = valueAndGrad(weighted)
        const two = valueAndGrad((p: { W: Var; b: Var }, xb: Tensor) =>
          ad.add(
            ad.sum(ad.mul(ad.affine(xb, p.W, p.b), C)),
            ad.sum(ad.mul(ad.matmul(xb, p.W), C2)),
          ),
        )
        one({ W, b }, batch()) // the first call plans the arena
        two({ W, b }, batch())
        const before = counts()
        const a = one({ W, b }, batch()).grad.W
        const late = one({ W, b }, batch()).grad.W
        expect(lazyDataOf(a)).toBeDefined()
        expect(lazyDataOf(late)).toBeDefined()
        expect(differing(late.data, want)).toEqual([]) // nothing laid out since: copied
        expect(counts().copied - before.copied).toBe(1)
        expect(differing(a.data, want)).toEqual([]) // another call since: recomputed
        expect(counts().recomputed - before.recomputed).toBe(1)
        // read: the next calls make theirs eagerly, the same bits
        const next = one({ W, b }, batch()).grad.W
        expect(lazyDataOf(next)).toBeUndefined()
        expect(differing(next.data, want)).toEqual([])
        const summed = two({ W, b }, batch()).grad.W
        expect(counts().inCall - before.inCall).toBe(1)
        const sum = want.map((v, i) => v + want2[i]) // a + b is b + a, bit for bit
        expect(differing(summed.data, sum)).toEqual([])
        // off: the eager copy, the same bits
        const was = setLazyGradients(false)
        try {
          const off = valueAndGrad(weighted)
          off({ W, b }, batch())
          const e = off({ W, b }, batch()).grad.W
          expect(lazyDataOf(e)).toBeUndefined()
          expect(differing(e.data, want)).toEqual([])
        } finally {
          setLazyGradients(was)
        }
      }),
    )
  })

  it('a δ holding ±∞ or NaN is summed densely and copied out eagerly, 0·∞ = NaN and all', () => {
    fc.assert(
      fc.property(
        rowsOf,
        fc.nat(),
        fc.constantFrom(Infinity, -Infinity, Number.NaN),
        ({ which, pick, n, seed }, q, v) => {
          const data = sets[which]
          const cache = rowCache(data.x)!
          const batch = () => takeRows(data.x, pick, 0, pick.length, cache)
          const m = pick.length
          const C = { shape: [m, n], data: fill(seed, m * n) }
          C.data[q % C.data.length] = v
          const W = { shape: [784, n], data: fill(seed + 2, 784 * n) }
          const b = { shape: [n], data: fill(seed + 3, n) }
          const f = valueAndGrad((p: { W: Var; b: Var }, xb: Tensor) =>
            ad.sum(ad.mul(ad.affine(xb, p.W, p.b), C)),
          )
          f({ W, b }, batch())
          const before = counts()
          const g = f({ W, b }, batch()).grad.W
          expect(lazyDataOf(g)).toBeUndefined()
          expect(counts().made).toBe(before.made)
          const x = { shape: [m, 784], data: batch().data }
          expect(differing(g.data, transposeTimes(x, C))).toEqual([])
        },
      ),
    )
  })
})

describe('∂W1 and ∂W2 left lazy in the memory two threads share', () => {
  restoreAfterEach(tapeTuning)
  closeThreadsAfterAll()
  const sets = [images(1, 240), images(2, 240)]

  it('mlp with a wide second layer trained with Adam on two threads: the one thread’s counts and bits', async () => {
    setKernelBackend('wasm')
    setKernelThreads(2)
    tapeTuning.explicitMinWork = 0 // every call on the shared memory however small
    try {
      await wideAdam(sets, 2)
    } finally {
      setKernelBackend('auto')
    }
  })
})
