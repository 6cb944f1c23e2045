import fc from 'fast-check'
import { produce } from 'immer'
import { lastValueFrom, type OperatorFunction, pipe, tap, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  freezeTree,
  globalNorm,
  isTensor,
  randomBatches,
  setKernelBackend,
  train,
  twoLayerNet,
  type Tensor,
} from 'gradstream'
import { clipByGlobalNorm, gradient, maxSteps, sgd, update } from 'gradstream/operators'
import { twoLayerGradient } from '../../src/nn/twoLayerGradient.js'
import { lazyGradients, setLazyGradients } from '../../src/autodiff/lazyGradient.js'
import { rowCache, takeRows, xTransposeDelta } from '../../src/tensor/gatheredRows.js'
import { lazyDataOf } from '../../src/tensor/lazyData.js'
import { images } from '../helpers/sparseRows.js'
import { onWasmOneThread } from '../helpers/wasmOneThread.js'

// twoLayerGradient is a recipe over the reverse-mode tape: on a gathered batch (W3's step) its
// ∂W1 = xᵀ·δ1 is left in the tape's arena where the held product made it (lazyGradient.ts,
// from a net's second call on: the first lays the arena out): its `data` is made when read —
// copied out of memory while nothing has been laid out since, else recomputed from the batch's
// rows and a copy of δ1 — and must then be the eager copy's bits, however late it is read.

type Data = ReturnType<typeof images>
const net = (seed: number) =>
  twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed, weightInitStd: 0.1 })
type P = ReturnType<typeof net>['params']
type State = { readonly params: P; readonly grad: P; readonly loss: number }

/** W3's pipeline (gradient, SGD 0.1) for `steps` steps: every emitted state after the first. */
function run(
  data: Data,
  seed: number,
  batchSize: number,
  steps: number,
  lazy: boolean,
  step: OperatorFunction<any, any> = update(0.1),
  each: (s: State) => void = () => {},
): Promise<State[]> {
  const was = setLazyGradients(lazy)
  const m = net(seed)
  const states = train({
    params: m.params,
    data: randomBatches(data, { batchSize, seed }),
    step: pipe(
      gradient((p: P, b: { x: Tensor; t: Tensor }) => m.lossAndGradient(p, b.x, b.t)),
      step,
    ),
  }).pipe(
    maxSteps(steps),
    tap((s) => {
      if ((s as State).grad != null) each(s as State)
    }),
    toArray(),
  )
  return lastValueFrom(states)
    .then((all) => all.slice(1) as unknown as State[])
    .finally(() => setLazyGradients(was))
}

/** Positions where two arrays differ as values (Object.is: NaN = NaN, +0 ≠ −0); expect none. */
const differing = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return [-1]
  const out: number[] = []
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i)
  return out
}

const made = () => ({ ...lazyGradients })

describe('twoLayerGradient on the tape: ∂W1 made on first read (W3 on the wasm backend)', () => {
  onWasmOneThread()
  const sets = [images(1, 240), images(2, 240)]

  it('plain W3 never makes it; read late, in any order, it is the eager copy bit for bit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 5, max: 100 }),
        fc.integer({ min: 2, max: 5 }),
        fc.func(fc.integer()),
        async (which, seed, batchSize, steps, order) => {
          const data = sets[which]
          const before = made()
          const lazy = await run(data, seed, batchSize, steps, true)
          // training read no ∂W1: each state's after the first is still lazy and unmade
          expect(made().made - before.made).toBe(steps - 1)
          expect({ ...made(), made: before.made }).toEqual(before)
          expect(lazyDataOf(lazy[0].grad.W1)).toBeUndefined()
          for (const s of lazy.slice(1)) expect(lazyDataOf(s.grad.W1)).toBeDefined()
          const eager = await run(data, seed, batchSize, steps, false)
          for (const s of eager) expect(lazyDataOf(s.grad.W1)).toBeUndefined()
          // the parameters, losses and every gradient: the same bits
          expect(lazy.map((s) => s.loss)).toEqual(eager.map((s) => s.loss))
          const idx = lazy.map((_, i) => i).sort((a, b) => order(a) - order(b) || a - b)
          for (const i of idx) {
            expect(differing(lazy[i].grad.W1.data, eager[i].grad.W1.data)).toEqual([])
            expect(differing(lazy[i].params.W1.data, eager[i].params.W1.data)).toEqual([])
            // read again: the same array (made once)
            expect(lazy[i].grad.W1.data).toBe(lazy[i].grad.W1.data)
          }
          // the eager run laid out since: every one was recomputed, none copied
          expect(made().recomputed - before.recomputed).toBe(steps - 1)
          expect(made().copied).toBe(before.copied)
        },
      ),
      { numRuns: 12 },
    )
  })

  it('a reader of each new state: the eager bits (copied out of memory, then eager calls)', async () => {
    const data = sets[0]
    const lazyNorms: number[] = []
    const eagerNorms: number[] = []
    const before = made()
    const lazy = await run(data, 5, 100, 4, true, update(0.1), (s) => {
      lazyNorms.push(globalNorm(s.grad))
    })
    // the second step's was copied out; once one is read, the next calls make theirs eagerly
    expect(made().made - before.made).toBe(1)
    expect(made().copied - before.copied).toBe(1)
    expect(made().recomputed).toBe(before.recomputed)
    const eager = await run(data, 5, 100, 4, false, update(0.1), (s) => {
      eagerNorms.push(globalNorm(s.grad))
    })
    expect(lazyNorms).toEqual(eagerNorms)
    for (let i = 0; i < 4; i++) {
      expect(differing(lazy[i].grad.W1.data, eager[i].grad.W1.data)).toEqual([])
    }
  })

  it('a transform reading the gradient (clipByGlobalNorm, then sgd): the eager run’s bits', async () => {
    const data = sets[1]
    const step = () => pipe(clipByGlobalNorm(0.5), sgd(0.1))
    const lazy = await run(data, 9, 50, 4, true, step())
    const eager = await run(data, 9, 50, 4, false, step())
    for (let i = 0; i < 4; i++) {
      expect(lazy[i].loss).toBe(eager[i].loss)
      expect(differing(lazy[i].params.W1.data, eager[i].params.W1.data)).toEqual([])
      expect(differing(lazy[i].grad.W1.data, eager[i].grad.W1.data)).toEqual([])
    }
  })

  it('checkpoint-like readers (structuredClone, spreading, immer) see the numbers', async () => {
    const data = sets[0]
    const lazy = await run(data, 3, 80, 4, true)
    const eager = await run(data, 3, 80, 4, false)
    const first = lazy[1] // the first step's is eager: the arena is laid out from it
    // isTensor and freezeTree answer without making it
    const before = made()
    expect(isTensor(first.grad.W1)).toBe(true)
    expect(freezeTree(first.grad)).toBe(first.grad)
    expect(made()).toEqual(before)
    const cloned = structuredClone(first.grad) as P
    expect(Object.getOwnPropertyDescriptor(cloned.W1, 'data')?.value).toBeInstanceOf(Float64Array)
    expect(differing(cloned.W1.data, eager[1].grad.W1.data)).toEqual([])
    const spread = { ...lazy[2].grad.W1 }
    expect(differing(spread.data, eager[2].grad.W1.data)).toEqual([])
    const next = produce(lazy[3], (d: { loss: number }) => void (d.loss = 0))
    expect(differing(next.grad.W1.data, eager[3].grad.W1.data)).toEqual([])
    expect(JSON.stringify(Object.keys(lazy[3].grad.W1))).toBe('["shape","data"]')
  })

  it('one call, read at once (copied) or after another call (recomputed): the eager bits', () => {
    const data = sets[1]
    const m = net(4)
    const cache = rowCache(data.x)!
    const pick = [3, 17, 17, 200, 45, 9, 0, 239]
    const batch = () => takeRows(data.x, pick, 0, pick.length, cache)
    const t = takeRows(data.t, pick)
    const eager = (() => {
      const was = setLazyGradients(false)
      try {
        return twoLayerGradient(m.params, batch(), t).grad.W1.data
      } finally {
        setLazyGradients(was)
      }
    })()
    twoLayerGradient(m.params, batch(), t) // lays the tape's arena out
    const a = twoLayerGradient(m.params, batch(), t).grad.W1
    const b = twoLayerGradient(m.params, batch(), t).grad.W1
    expect(lazyDataOf(a)).toBeDefined()
    const before = made()
    expect(differing(b.data, eager)).toEqual([])
    expect(made().copied - before.copied).toBe(1)
    expect(differing(a.data, eager)).toEqual([])
    expect(made().recomputed - before.recomputed).toBe(1)
    // and the js backend's product (a dense batch, eager): the same bits
    setKernelBackend('js')
    try {
      const js = twoLayerGradient(m.params, { shape: [pick.length, 784], data: batch().data }, t)
      expect(differing(js.grad.W1.data, eager)).toEqual([])
    } finally {
      setKernelBackend('wasm')
    }
  })

  it('xTransposeDelta sums each entry over the rows in order, a zero xᵣᵢ skipped', () => {
    // x (3 rows of d = 2, picked from a source of 4 rows), δ (3×2): entry (i, j) = Σᵣ xᵣᵢ·δᵣⱼ
    const source = Float64Array.from([1, 0, 0, 2, 3, -1, 0.5, 0])
    const pick = Int32Array.from([2, 0, 3])
    const D = Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    const g = xTransposeDelta(source, pick, 2, D, 2)
    const want = [3 * 0.1 + 1 * 0.3 + 0.5 * 0.5, 3 * 0.2 + 1 * 0.4 + 0.5 * 0.6, -1 * 0.1, -1 * 0.2]
    expect(Array.from(g)).toEqual(want)
    // (0 + a) + b with a = −0 is +0, as the kernel's zero-started sums
    expect(
      Object.is(
        xTransposeDelta(Float64Array.of(-1), Int32Array.of(0), 1, Float64Array.of(0), 1)[0],
        0,
      ),
    ).toBe(true)
  })
})
