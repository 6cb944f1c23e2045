// A held product A·B whose right operand already lies in the kernels' memory with rows the sparse
// kernel reads padded (n a multiple of 32: W5's W1, in the tape's arena or in its optimizer's
// band of the two threads' memory): gemmHeldWasm pads it from where it lies in one pass
// (gemm.ts padRowsFrom) instead of copying it out through JavaScript. The result must be the
// ordered loop's bit for bit, and the same as for the same B handed over as a JavaScript array.
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { setKernelBackend, type Tensor } from 'gradstream'
import { heldLeft } from '../../src/tensor/linalg.js'
import { arenaView, closeArena, openArena } from '../../src/tensor/kernels/wasmKernels.js'
import { expectMatches, reference } from '../helpers/referenceGemm.js'

/** Indices where `got` and `want` differ (Object.is: NaN equals NaN, +0 differs from −0). */
const differing = (got: Float64Array, want: Float64Array): number[] =>
  Array.from(want.keys()).filter((q) => !Object.is(got[q], want[q]))

/**
 * A·B by the ordered loop (written anew): entry (i, j) summed over p = 0 … k−1 from +0, a zero
 * of A skipped — what the held kernel sums for a finite B (a skipped 0·b would add ±0 to a sum
 * that is never −0), NaN and ±∞ of A included.
 */
function times(a: Tensor, b: Float64Array, n: number): Float64Array {
  const [m, k] = a.shape
  const c = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++) {
        const v = a.data[i * k + p]
        if (v !== 0) s += v * b[p * n + j]
      }
      c[i * n + j] = s
    }
  return c
}

const special = fc.constantFrom(Number.NaN, Infinity, -Infinity, -0)

/** A sparse m×k batch (held: m·k ≥ 256, ≤ 22% non-zero) and a finite k×n B, n padded. */
const operands = fc
  .record({
    m: fc.integer({ min: 4, max: 40 }),
    k: fc.integer({ min: 64, max: 130 }),
    n: fc.constantFrom(32, 64, 96),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
    specials: fc.array(fc.tuple(fc.nat(), special), { maxLength: 3 }),
  })
  .map(({ m, k, n, seed, specials }) => {
    let s = seed
    const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const a = Float64Array.from({ length: m * k }, () => (next() < 0.12 ? next() * 2 - 1 : 0))
    for (const [q, v] of specials) a[q % (m * k)] = v
    const b = Float64Array.from({ length: k * n }, () => (next() < 0.7 ? next() * 4 - 2 : -0))
    return { a: { shape: [m, k], data: a } as Tensor, b, n }
  })

/**
 * Runs `check` on A held and a view of B copied into an arena the kernels keep open (as a tape
 * call's), the batch held above it; false when the kernels chose not to hold A.
 */
function withBInArena(
  a: Tensor,
  b: Float64Array,
  n: number,
  check: (h: ReturnType<typeof heldLeft>, view: Float64Array) => void,
): boolean {
  const k = a.shape[1]
  const at = openArena(k * n * 8, 8 << 20)
  expect(at).toBeGreaterThan(0)
  try {
    const view = arenaView(at, k * n)
    view.set(b)
    const h = heldLeft(a)
    try {
      if (h.held() === null) return false
      check(h, view)
      return true
    } finally {
      h.release()
    }
  } finally {
    closeArena()
  }
}

describe('a held product whose B lies in wasm memory', () => {
  afterAll(() => setKernelBackend('auto'))

  it('pads B from where it lies: the ordered loop’s bits, as for B in JavaScript memory', () => {
    setKernelBackend('wasm')
    let held = 0
    fc.assert(
      fc.property(operands, ({ a, b, n }) => {
        const k = a.shape[1]
        const want = times(a, b, n)
        const ran = withBInArena(a, b, n, (h, view) => {
          const got = h.times({ shape: [k, n], data: view })
          expect(differing(got.data, want)).toEqual([])
          // B untouched where it lies
          expect(differing(view, b)).toEqual([])
          expect(differing(h.times({ shape: [k, n], data: b }).data, want)).toEqual([])
        })
        fc.pre(ran)
        held++
      }),
    )
    expect(held).toBeGreaterThan(20)
  })

  it('a non-finite B found while padding it goes dense, as for B in JavaScript memory', () => {
    setKernelBackend('wasm')
    let held = 0
    fc.assert(
      fc.property(operands, fc.nat(), fc.constantFrom(Infinity, -Infinity, NaN), (o, q, v) => {
        const { a, n } = o
        const k = a.shape[1]
        const b = Float64Array.from(o.b)
        b[q % b.length] = v
        const want = reference(a.data, b, a.shape[0], k, n, false, false)
        const ran = withBInArena(a, b, n, (h, view) => {
          const got = h.times({ shape: [k, n], data: view })
          // the dense sum: 0·±∞ is NaN (a sparse walk would have skipped it)
          expectMatches(got.data, want, k)
          expect(differing(got.data, h.times({ shape: [k, n], data: b }).data)).toEqual([])
        })
        fc.pre(ran)
        held++
      }),
    )
    expect(held).toBeGreaterThan(20)
  })
})
