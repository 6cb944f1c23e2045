import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { ad, setKernelBackend, valueAndGrad, type Tensor, type Var } from 'gradstream'
import {
  activationBackWasm,
  arenaView,
  closeArena,
  gemmDenseWasm,
  gemmHeldWasm,
  gemmSparseWasm,
  holdSparse,
  loadWasm,
  openArena,
  releaseSparse,
  reluBiasWasm,
  sigmoidBiasWasm,
} from '../../src/tensor/kernels/wasmKernels.js'
import { gemmKernel } from '../../src/tensor/kernels/gemmKernel.js'
import { reference } from '../helpers/referenceGemm.js'

// On the wasm backend a differentiated function's second and later calls keep the tape's values
// in an arena of the kernels' linear memory: products read their operands and write their
// results there, the activations run there. The arithmetic is the same (the same kernels on the
// same numbers in the same order), so everything below is compared bit for bit (Object.is) with
// the path that copies — except where memory cannot grow while the arena is open and the
// JavaScript kernels take over, whose sums may be ordered differently: there the bound is the
// one for any order of summation, 2γₖ·Σ|a·b| with γₖ = k·u/(1 − k·u), u = 2⁻⁵³.

const w = loadWasm()
const U = 2 ** -53
const gamma = (k: number) => (k * U) / (1 - k * U)

/** A deterministic filler (no Math.random): values in [−1, 1), a share `zeros` of them 0. */
function filler(seed: number) {
  let s = seed >>> 0 || 1
  const next = () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 32
  }
  return (len: number, zeros = 0) =>
    Float64Array.from({ length: len }, () => (next() < zeros ? 0 : next() * 2 - 1))
}

const differ = (got: Float64Array, want: Float64Array) =>
  got.length !== want.length ? [-1] : [...got].flatMap((v, i) => (Object.is(v, want[i]) ? [] : [i]))

type Net = { W1: Var; b1: Var; W2: Var; b2: Var }
type Batch = { x: Tensor; t: Tensor }

/** A two-layer relu net's loss (what mlp builds), and its parameters. */
const loss = (p: Net, { x, t }: Batch) =>
  ad.softmaxCrossEntropy(ad.affine(ad.affine(x, p.W1, p.b1, 'relu'), p.W2, p.b2), t)

afterAll(() => setKernelBackend('auto'))

describe.skipIf(w === null)('the tape’s arena in wasm memory', () => {
  const dims = fc.record({
    k: fc.integer({ min: 8, max: 48 }),
    h: fc.integer({ min: 4, max: 40 }),
    c: fc.integer({ min: 2, max: 10 }),
    sizes: fc.array(fc.integer({ min: 4, max: 40 }), { minLength: 2, maxLength: 5 }),
    zeros: fc.constantFrom(0, 0.5, 0.85),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })

  it('calls after the first give a fresh tape’s bits, batch sizes changing or not', () => {
    setKernelBackend('wasm')
    fc.assert(
      fc.property(dims, ({ k, h, c, sizes, zeros, seed }) => {
        const fill = filler(seed)
        const params = {
          W1: { shape: [k, h], data: fill(k * h) },
          b1: { shape: [h], data: fill(h) },
          W2: { shape: [h, c], data: fill(h * c) },
          b2: { shape: [c], data: fill(c) },
        }
        const batches = sizes.map((m) => ({
          x: { shape: [m, k], data: fill(m * k, zeros) },
          t: { shape: [m], data: Float64Array.from({ length: m }, (_, i) => (i * 7) % c) },
        }))
        // each size twice in a row: the second call of a size runs in the arena
        const calls = batches.flatMap((b) => [b, b])
        const vg = valueAndGrad(loss)
        const results = calls.map((b) => vg(params, b))
        const kept = results.map((r) => ({
          W1: r.grad.W1.data.slice(),
          b2: r.grad.b2.data.slice(),
        }))
        calls.forEach((b, i) => {
          const fresh = valueAndGrad(loss)(params, b)
          expect(Object.is(results[i].value, fresh.value)).toBe(true)
          for (const key of ['W1', 'b1', 'W2', 'b2'] as const) {
            expect(differ(results[i].grad[key].data, fresh.grad[key].data)).toEqual([])
            // handed out in memory of their own, never a view of the arena
            expect(results[i].grad[key].data.buffer).not.toBe(w!.memory.buffer)
          }
          // later calls left earlier results as they were
          expect(differ(results[i].grad.W1.data, kept[i].W1)).toEqual([])
          expect(differ(results[i].grad.b2.data, kept[i].b2)).toEqual([])
        })
      }),
      { numRuns: 40 },
    )
  })

  it('a nested differentiated call inside an arena call gives its own fresh bits', () => {
    setKernelBackend('wasm')
    const fill = filler(11)
    const [m, k, h] = [24, 30, 20]
    const params = { W: { shape: [k, h], data: fill(k * h) }, b: { shape: [h], data: fill(h) } }
    const x = { shape: [m, k], data: fill(m * k, 0.5) }
    const inner = valueAndGrad((p: { W: Var; b: Var }) => ad.sum(ad.affine(x, p.W, p.b, 'relu')))
    const seen: number[] = []
    const outer = valueAndGrad((p: { W: Var; b: Var }) => {
      seen.push(inner(params, null).value)
      return ad.sum(ad.affine(x, p.W, p.b, 'tanh'))
    })
    const a = outer(params, null)
    const b = outer(params, null) // arena open: inner runs on its own buffers
    expect(Object.is(a.value, b.value)).toBe(true)
    expect(differ(a.grad.W.data, b.grad.W.data)).toEqual([])
    expect(seen[1]).toBe(seen[0])
    expect(seen[0]).toBe(inner(params, null).value)
  })

  it('while an arena is open memory never grows: a product that needs more falls back to JS', () => {
    setKernelBackend('wasm')
    const fill = filler(5)
    const at = openArena(1024 * 8, 0)
    expect(at).toBeGreaterThan(0)
    const view = arenaView(at, 1024)
    const before = w!.memory.buffer
    try {
      // A alone is larger than all of linear memory now: its layout cannot fit
      const k = 64
      const n = 8
      const m = Math.ceil(before.byteLength / (k * 8)) + 1
      const A = fill(m * k)
      const B = fill(k * n)
      expect(() => gemmDenseWasm(A, B, new Float64Array(m * n), m, k, n, false, false)).toThrow(
        RangeError,
      )
      const C = new Float64Array(m * n)
      gemmKernel(A, B, C, m, k, n, false, false) // the JavaScript kernel takes it
      const want = reference(A, B, m, k, n, false, false)
      const off: number[] = []
      for (let q = 0; q < m * n; q++) {
        if (!(Math.abs(C[q] - want.C[q]) <= 2 * gamma(k) * want.mag[q])) off.push(q)
      }
      expect(off).toEqual([])
      expect(w!.memory.buffer).toBe(before)
      expect(view.length).toBe(1024) // still attached
    } finally {
      closeArena()
    }
  })
})

describe.skipIf(w === null)('kernels on operands already in linear memory', () => {
  const shape = fc.record({
    m: fc.integer({ min: 1, max: 40 }),
    k: fc.integer({ min: 1, max: 40 }),
    n: fc.integer({ min: 4, max: 40 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    zeros: fc.constantFrom(0, 0.8),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })

  /** Runs `fn` with an arena of `len` numbers open; `place` copies an array into it. */
  function inArena<R>(len: number, fn: (place: (x: Float64Array) => Float64Array) => R): R {
    const at = openArena(len * 8 + 16 * 8, 1 << 20)
    expect(at).toBeGreaterThan(0)
    let used = 0
    const place = (x: Float64Array) => {
      expect(used + x.length).toBeLessThanOrEqual(len)
      const v = arenaView(at + used * 8, x.length)
      v.set(x)
      used += x.length + 1 // apart, and not 16-byte aligned every time
      return v
    }
    try {
      return fn(place)
    } finally {
      closeArena()
    }
  }

  it('dense and sparse products read and write where the operands lie, with the same bits', () => {
    fc.assert(
      fc.property(shape, ({ m, k, n, transA, transB, zeros, seed }) => {
        const fill = filler(seed)
        const A = fill(m * k, zeros)
        const B = fill(k * n)
        const dense = new Float64Array(m * n)
        gemmDenseWasm(A, B, dense, m, k, n, transA, transB)
        const sparse = new Float64Array(m * n)
        const did = gemmSparseWasm(A, B, sparse, m, k, n, transA, transB, m * k, true)
        inArena(2 * (m * k + k * n + m * n) + 8, (place) => {
          const C = place(new Float64Array(m * n))
          gemmDenseWasm(place(A), place(B), C, m, k, n, transA, transB)
          expect(differ(C.slice(), dense)).toEqual([])
          const S = place(new Float64Array(m * n))
          expect(gemmSparseWasm(place(A), place(B), S, m, k, n, transA, transB, m * k, true)).toBe(
            did,
          )
          if (did) expect(differ(S.slice(), sparse)).toEqual([])
        })
      }),
      { numRuns: 100 },
    )
  })

  it('a held operand’s products write into memory where C lies, with the same bits', () => {
    fc.assert(
      fc.property(shape, ({ m, k, n, transA, zeros, seed }) => {
        const fill = filler(seed)
        const A = fill(m * k, zeros)
        const rows = transA ? k : m
        const B = fill(rows === m ? k * n : m * n) // op(B) is (A's cols)×n, or (A's rows)×n
        const cRows = transA ? k : m
        const inner = transA ? m : k
        const want = new Float64Array(cRows * n)
        const h1 = holdSparse(A, m, k, m * k)
        if (h1 === null) return
        try {
          gemmHeldWasm(h1, B.subarray(0, inner * n), want, n, transA, false, true)
        } finally {
          releaseSparse(h1)
        }
        inArena(2 * (inner * n + cRows * n) + 4, (place) => {
          const h2 = holdSparse(A, m, k, m * k)!
          try {
            const C = place(new Float64Array(cRows * n))
            gemmHeldWasm(h2, place(B.subarray(0, inner * n)), C, n, transA, false, true)
            expect(differ(C.slice(), want)).toEqual([])
          } finally {
            releaseSparse(h2)
          }
        })
      }),
      { numRuns: 100 },
    )
  })

  it('bias + activation and its backward pass run in place there, with the same bits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 21 }),
        fc.constantFrom(0, 1, 2),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (n, h, act, seed) => {
          const fill = filler(seed)
          const Z = fill(n * h)
          const b = fill(h)
          const G = fill(n * h)
          const relu = Z.slice()
          reluBiasWasm(relu, b, n, h)
          const sig = Z.slice()
          sigmoidBiasWasm(sig, b, n, h)
          const D = new Float64Array(n * h)
          const sums = fill(h)
          const s0 = sums.slice()
          activationBackWasm(act, G, sig, D, n, h, sums)
          inArena(10 * (n * h + 1), (place) => {
            const R = place(Z)
            reluBiasWasm(R, b, n, h)
            expect(['relu', ...differ(R.slice(), relu)]).toEqual(['relu'])
            const S = place(Z)
            sigmoidBiasWasm(S, b, n, h)
            expect(['sig', ...differ(S.slice(), sig)]).toEqual(['sig'])
            // D in memory with G and Y, and each of them alone
            for (const where of [7, 1, 2, 4]) {
              const g = where & 1 ? place(G) : G.slice()
              const y = where & 2 ? place(sig) : sig.slice()
              const d = where & 4 ? place(new Float64Array(n * h)) : new Float64Array(n * h)
              const s = s0.slice()
              activationBackWasm(act, g, y, d, n, h, s)
              expect(['d', where, ...differ(d.slice(), D)]).toEqual(['d', where])
              expect(['s', where, ...differ(s, sums)]).toEqual(['s', where])
              expect(differ(g.slice(), G)).toEqual([]) // g unchanged
            }
          })
        },
      ),
      { numRuns: 100 },
    )
  })
})
