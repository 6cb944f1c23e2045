import fc from 'fast-check'
import { pipe, tap } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  setKernelBackend,
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
} from 'gradstream/operators'
import { leafSourcesOf, leavesOf } from '../../src/engine/leaves.js'
import {
  scaledLeaf,
  scaledTree,
  slopeAndDirection,
  trialLeaf,
} from '../../src/engine/scaledLeaves.js'
import { lazyDataOf } from '../../src/tensor/lazyData.js'

// A scaling that runs alone makes long leaves c·u on first read (src/engine/scaledLeaves.ts);
// the line search reads them as c·u from u, its slope in the pass of its first trial. All of it
// must be invisible: the bits of the eager loops (each product rounded, in order; the slope a
// plain sequential sum), on any numbers (NaN, ±0, ±Infinity, subnormals), read at any time.

const vec = (data: Float64Array): Tensor => ({ shape: [data.length], data })

/** Equal bit for bit, NaN payloads aside (as the engine's other kernels are checked). */
function expectSameBits(actual: Float64Array, expected: Float64Array, where: string): void {
  expect(actual.length, where).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      expect.fail(`${where}[${i}]: ${actual[i]} !== ${expected[i]}`)
    }
  }
}

// long leaves (≥ 4,096: made on first read) and short ones (scaled at once); values cycled
// from a few drawn doubles, any double included
const length = fc.constantFrom(1, 3, 4095, 4096, 4099)
const values = fc.array(fc.double(), { minLength: 1, maxLength: 7 })
const leafOf = (n: number) =>
  values.map((vs) => vec(Float64Array.from({ length: n }, (_, i) => vs[(i * 5 + n) % vs.length])))
const treeOf = ([b, a]: [number, number[]]) =>
  fc.record({ b: leafOf(b), a: fc.tuple(...a.map(leafOf)), n: fc.double() })
const lengths = fc.tuple(length, fc.array(length, { minLength: 1, maxLength: 2 }))
const tree = lengths.chain(treeOf)
/** three trees of one structure */
const trees = lengths.chain((ls) => fc.tuple(treeOf(ls), treeOf(ls), treeOf(ls)))
type Tree = { a: Tensor[]; b: Tensor; n: number }
const factor = fc.oneof(fc.double(), fc.constantFrom(-1, 1, 0.5, -0.8))
const tensorsOf = (t: Tree) => [...t.a, t.b]

describe('scaledTree', () => {
  it('gives c·u leaf for leaf, bit for bit, read at any time (property)', () => {
    fc.assert(
      fc.property(tree, factor, factor, (u, c, d) => {
        const once = scaledTree(u, c) as Tree
        const twice = scaledTree(once, d) as Tree
        expect(Object.keys(once)).toEqual(['a', 'b', 'n'])
        expect(Object.isFrozen(once) && Object.isFrozen(once.a) && Object.isFrozen(once.b)).toBe(
          true,
        )
        expect(Object.is(once.n, c * u.n) && Object.is(twice.n, d * (c * u.n))).toBe(true)
        // the twice-scaled tree read first: the once-scaled one is still made from u
        tensorsOf(u).forEach((x, j) => {
          expect(tensorsOf(twice)[j].shape).toEqual(x.shape)
          const cx = x.data.map((v) => c * v)
          expectSameBits(
            tensorsOf(twice)[j].data,
            cx.map((v) => d * v),
            `d·(c·u) leaf ${j}`,
          )
          expectSameBits(tensorsOf(once)[j].data, cx, `c·u leaf ${j}`)
          const lazy = lazyDataOf(tensorsOf(once)[j]) !== undefined
          expect(lazy, `leaf ${j} of ${x.data.length} made on first read`).toBe(
            x.data.length >= 4096,
          )
        })
      }),
    )
  })
})

describe("the line search's kernels", () => {
  it('slopeAndDirection and trialLeaf: the plain loops, bit for bit, on both backends (property)', () => {
    fc.assert(
      fc.property(trees, factor, factor, fc.boolean(), ([p, s, g], c, a, wasm) => {
        const u = scaledTree(s, c)
        const { data, count } = leafSourcesOf('test', [p, u, g], 1)
        const theta = data[0] as Float64Array[]
        const grads = data[2] as Float64Array[]
        const us = data[1].map(scaledLeaf)
        // the plain computation: u materialized, a sequential sum, θ + a·u
        const plainU = leavesOf('test', [u]).data[0]
        let slope = 0
        for (let j = 0; j < count; j++)
          for (let i = 0; i < plainU[j].length; i++) slope += plainU[j][i] * grads[j][i]
        const scratch: Float64Array[] = []
        const got = slopeAndDirection(us, grads, scratch)
        expect(Object.is(got.slope, slope)).toBe(true)
        // s itself where c = ±1 (θ + (±η)·s, the same bits), else c·s written into scratch
        us.forEach((l, j) => expect(got.dir[j].d === l.s).toBe(l.c === 1 || l.c === -1))
        const out = theta.map((x) => new Float64Array(x.length))
        setKernelBackend(wasm ? 'wasm' : 'js')
        try {
          theta.forEach((x, j) => trialLeaf(x, got.dir[j], a, out[j]))
        } finally {
          setKernelBackend('auto')
        }
        for (let j = 0; j < count; j++) {
          const expected = theta[j].map((x, i) => x + a * plainU[j][i])
          expectSameBits(out[j], expected, `trial leaf ${j}`)
        }
      }),
    )
  })

  it('leafSourcesOf leaves a lazy input unread, and names a mismatch as leavesOf does', () => {
    const u = scaledTree({ w: vec(new Float64Array(5000).fill(2)), b: 3 }, -1) as {
      w: Tensor
      b: number
    }
    const params = { w: vec(new Float64Array(5000)), b: 0 }
    const { data } = leafSourcesOf('test', [params, u], 1)
    expect(data[1][1]).toBe(lazyDataOf(u.w))
    expect(data[1][0]).toEqual(Float64Array.of(-3))
    const bad = { w: vec(new Float64Array(4999)), b: 0 }
    expect(() => leafSourcesOf('test', [bad, u], 1)).toThrow(
      'test: at w: shapes [4999] and [5000] differ',
    )
    expect(() => leavesOf('test', [bad, u])).toThrow('test: at w: shapes [4999] and [5000] differ')
  })
})

describe('scaleByBacktrackingLinesearch on long leaves', () => {
  it('its states, intermediate ones read after the run, are the formula written out here', () => {
    // f(x) = Σ aᵢ·xᵢ², ill-conditioned so that some steps backtrack; 6,000 coordinates
    const n = 6000
    const a = Float64Array.from({ length: n }, (_, i) => 1 + (i % 7) * 0.6)
    const f = (x: Tensor) => {
      let s = 0
      for (let i = 0; i < n; i++) s += a[i] * x.data[i] * x.data[i]
      return s
    }
    const fg = (x: Tensor) => ({ loss: f(x), grad: vec(x.data.map((v, i) => 2 * a[i] * v)) })
    const x0 = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1))
    const kept: WithGradient<Tensor>[] = []
    const states: TrainState<Tensor>[] = []
    const step = pipe(
      gradient(fg),
      scaleByLearningRate(1),
      tap((s: WithGradient<Tensor>) => kept.push(s)),
      scaleByBacktrackingLinesearch(f),
      tap((s: WithGradient<Tensor>) => kept.push(s)),
      applyUpdates(),
    )
    train({ params: vec(x0), step })
      .pipe(maxSteps(6))
      .subscribe((s) => states.push(s))

    // the same, written out: u = −1·g, slope Σ uᵢ·gᵢ in order, trials x + η·u, η·u
    let x = x0
    let prev = 1
    const etas: number[] = []
    for (let k = 0; k < 5; k++) {
      const xt = vec(x)
      const g = fg(xt).grad.data
      const u = g.map((v) => -1 * v)
      let slope = 0
      for (let i = 0; i < n; i++) slope += u[i] * g[i]
      const base = f(xt)
      let eta = Math.min(prev * 1.5, 1)
      let calls = 0
      let error = Infinity
      let trial = x
      while (!(error <= 0) && calls <= 15) {
        if (calls > 0) eta = 0.8 * eta
        trial = x.map((v, i) => v + eta * u[i])
        const e = f(vec(trial)) - base - eta * 1e-4 * slope
        error = Number.isNaN(e) ? Infinity : Math.max(e, 0)
        calls++
      }
      prev = eta
      etas.push(eta)
      expectSameBits((kept[2 * k].updates as Tensor).data, u, `step ${k + 1}: −1·g`)
      const updates = eta === 1 ? u : u.map((v) => eta * v)
      expectSameBits((kept[2 * k + 1].updates as Tensor).data, updates, `step ${k + 1}: η·u`)
      expectSameBits(states[k + 1].params.data, trial, `step ${k + 1}: θ + η·u`)
      x = trial
    }
    expect(
      etas.some((e) => e < 1),
      'some steps backtrack',
    ).toBe(true)
    expect(lazyDataOf(kept[0].updates as Tensor), '−1·g made on first read').toBeDefined()
  })
})
