import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  getKernelBackend,
  matmul,
  matmulInto,
  setKernelBackend,
  tensor,
  toArray,
  zeros,
  type KernelBackend,
} from 'gradstream'
import { gemmDenseJs } from '../../src/tensor/kernels/jsKernels.js'
import { gemmKernel, looksSparse, type SparseMode } from '../../src/tensor/kernels/gemmKernel.js'
import { gemmDenseWasm, gemmSparseWasm } from '../../src/tensor/kernels/wasmKernels.js'
import { reference } from '../helpers/referenceGemm.js'

/**
 * Every kernel sums the same k products in the same order as the reference, so results are
 * normally identical. The chunked path (huge operands) adds partial sums; any reordering of a
 * sum of k terms is off by at most (k−1)·u·Σ|terms| (u = 2⁻⁵³ ≈ 1.1e-16), i.e. < 1e-12·Σ|terms|
 * for k < 9,000. So the check is |c − ref| ≤ 1e-12·Σ_p |a_ip·b_pj|: "1e-12 relative" measured
 * against the size of the terms, which is what rounding scales with (a plain relative error is
 * unbounded when the sum cancels to near zero).
 */
function expectMatches(
  got: Float64Array,
  ref: { C: Float64Array; mag: Float64Array },
  where: string,
): void {
  expect(got.length, `${where}: length`).toBe(ref.C.length)
  for (let q = 0; q < ref.C.length; q++) {
    const ok = Object.is(got[q], ref.C[q]) || Math.abs(got[q] - ref.C[q]) <= 1e-12 * ref.mag[q]
    if (!ok)
      expect.fail(`${where}[${q}]: got ${got[q]}, expected ${ref.C[q]} (Σ|ab| ${ref.mag[q]})`)
  }
}

const value = fc.double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true })
/** Mostly zeros (about 80%, as MNIST), or dense. */
const sparseValue = fc.oneof(
  { arbitrary: fc.constant(0), weight: 4 },
  { arbitrary: value, weight: 1 },
)

/** Shapes from 0 to 13 (1×1, odd sizes, empty rows, zero dims) with either kind of values. */
const problem = fc
  .record({
    m: fc.integer({ min: 0, max: 13 }),
    k: fc.integer({ min: 0, max: 13 }),
    n: fc.integer({ min: 0, max: 13 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    sparse: fc.boolean(),
  })
  .chain((d) => {
    const v = d.sparse ? sparseValue : value
    return fc.record({
      d: fc.constant(d),
      A: fc.array(v, { minLength: d.m * d.k, maxLength: d.m * d.k }),
      B: fc.array(v, { minLength: d.k * d.n, maxLength: d.k * d.n }),
      /** rows of op(A) forced to zero (empty rows) */
      emptyRows: fc.array(fc.nat({ max: 13 }), { maxLength: 3 }),
    })
  })
  .map(({ d, A, B, emptyRows }) => {
    const a = Float64Array.from(A)
    for (const r of emptyRows)
      if (r < d.m) for (let p = 0; p < d.k; p++) a[d.transA ? p * d.m + r : r * d.k + p] = 0
    return { ...d, A: a, B: Float64Array.from(B) }
  })

/** Larger shapes (past the 4×4 blocks and the wasm threshold), fewer runs. */
const bigProblem = fc
  .record({
    m: fc.integer({ min: 14, max: 70 }),
    k: fc.integer({ min: 14, max: 70 }),
    n: fc.integer({ min: 14, max: 70 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    density: fc.constantFrom(0.05, 0.2, 1),
    seed: fc.integer(),
  })
  .map((d) => {
    // values from a small linear congruential stream seeded by fast-check (no Math.random)
    let s = d.seed >>> 0
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
    const fill = (len: number, density: number) =>
      Float64Array.from({ length: len }, () => (next() < density ? next() * 200 - 100 : 0))
    return { ...d, A: fill(d.m * d.k, d.density), B: fill(d.k * d.n, 1) }
  })

type Problem = {
  m: number
  k: number
  n: number
  transA: boolean
  transB: boolean
  A: Float64Array
  B: Float64Array
}

/** Each variant: the direct kernels, and the dispatcher with the sparse path forced on and off. */
const variants: Record<string, (p: Problem, C: Float64Array) => void> = {
  'js dense': (p, C) => gemmDenseJs(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB),
  'wasm dense': (p, C) => gemmDenseWasm(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB),
  'wasm sparse': (p, C) => {
    if (p.m === 0 || p.n === 0 || p.k === 0)
      return gemmKernel(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB)
    expect(gemmSparseWasm(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB, p.m * p.k)).toBe(true)
  },
  ...Object.fromEntries(
    (['js', 'wasm'] as const).flatMap((backend) =>
      (['always', 'never', 'auto'] as SparseMode[]).map((mode) => [
        `${backend} dispatch sparse=${mode}`,
        (p: Problem, C: Float64Array) => {
          setKernelBackend(backend)
          gemmKernel(p.A, p.B, C, p.m, p.k, p.n, p.transA, p.transB, mode)
        },
      ]),
    ),
  ),
}

afterAll(() => setKernelBackend('auto'))

describe('matrix-product kernels equal the reference triple loop', () => {
  for (const [name, run] of Object.entries(variants)) {
    it(`${name}: small and edge shapes`, () => {
      fc.assert(
        fc.property(problem, (p) => {
          const C = new Float64Array(p.m * p.n).fill(NaN) // every slot must be written
          run(p, C)
          expectMatches(C, reference(p.A, p.B, p.m, p.k, p.n, p.transA, p.transB), name)
        }),
      )
    })
    it(`${name}: larger shapes, sparse and dense`, () => {
      fc.assert(
        fc.property(bigProblem, (p) => {
          const C = new Float64Array(p.m * p.n).fill(NaN)
          run(p, C)
          expectMatches(C, reference(p.A, p.B, p.m, p.k, p.n, p.transA, p.transB), name)
        }),
        { numRuns: 20 },
      )
    })
  }

  it.each(['js', 'wasm'] as const)('%s: chunks a left operand past 2²¹ elements', (backend) => {
    setKernelBackend(backend)
    const m = 2100
    const k = 1000
    const n = 3
    let s = 7
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5
    const A = Float64Array.from({ length: m * k }, next)
    const B = Float64Array.from({ length: k * n }, next)
    for (const transA of [false, true]) {
      const mm = transA ? k : m
      const kk = transA ? m : k
      const BB = transA ? Float64Array.from({ length: kk * n }, next) : B
      const C = new Float64Array(mm * n)
      gemmKernel(A, BB, C, mm, kk, n, transA, false)
      expectMatches(C, reference(A, BB, mm, kk, n, transA, false), `transA=${transA}`)
    }
  })

  it('the sparse path skips 0·∞ where the dense product gives NaN (documented)', () => {
    // op(A) = [[0, 1]], B = [[∞], [2]]: dense 0·∞ + 1·2 = NaN; sparse skips the 0 and gives 2
    const A = new Float64Array([0, 1])
    const B = new Float64Array([Infinity, 2])
    const C = new Float64Array(1)
    for (const backend of ['js', 'wasm'] as const) {
      setKernelBackend(backend)
      gemmKernel(A, B, C, 1, 2, 1, false, false, 'never')
      expect(C[0]).toBeNaN()
      gemmKernel(A, B, C, 1, 2, 1, false, false, 'always')
      expect(C[0]).toBe(2)
    }
    expect(gemmSparseWasm(A, B, C, 1, 2, 1, false, false, 2)).toBe(true)
    expect(C[0]).toBe(2)
  })

  it('a NaN in the left operand still propagates on the sparse path', () => {
    const C = new Float64Array(1)
    setKernelBackend('js')
    gemmKernel(
      new Float64Array([NaN, 0]),
      new Float64Array([1, 1]),
      C,
      1,
      2,
      1,
      false,
      false,
      'always',
    )
    expect(C[0]).toBeNaN()
    expect(
      gemmSparseWasm(
        new Float64Array([NaN, 0]),
        new Float64Array([1, 1]),
        C,
        1,
        2,
        1,
        false,
        false,
        2,
      ),
    ).toBe(true)
    expect(C[0]).toBeNaN()
  })
})

describe.each(['js', 'wasm'] as KernelBackend[])('matmul on the %s backend', (backend) => {
  it('is the backend in force', () => {
    setKernelBackend(backend)
    expect(getKernelBackend()).toBe(backend)
  })

  it('follows the doc example: xᵀ·x without forming xᵀ', () => {
    setKernelBackend(backend)
    const x = tensor([
      [1, 2],
      [3, 4],
    ])
    expect(toArray(matmul(x, x, { transposeA: true }))).toEqual([
      [10, 14],
      [14, 20],
    ])
    expect(toArray(matmul(x, x, { transposeB: true }))).toEqual([
      [5, 11],
      [11, 25],
    ])
    expect(
      toArray(
        matmul(
          tensor([0.6, 0.9]),
          tensor([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        ),
      ),
    ).toEqual([0.6 * 1 + 0.9 * 4, 0.6 * 2 + 0.9 * 5, 0.6 * 3 + 0.9 * 6])
  })

  it('multiplies transposes of random matrices as the reference does, leaving inputs alone', () => {
    setKernelBackend(backend)
    fc.assert(
      fc.property(problem, (p) => {
        const a = { shape: p.transA ? [p.k, p.m] : [p.m, p.k], data: p.A }
        const b = { shape: p.transB ? [p.n, p.k] : [p.k, p.n], data: p.B }
        const before = [p.A.slice(), p.B.slice()]
        const opts = { transposeA: p.transA, transposeB: p.transB }
        const y = matmul(a, b, opts)
        expect(y.shape).toEqual([p.m, p.n])
        const ref = reference(p.A, p.B, p.m, p.k, p.n, p.transA, p.transB)
        expectMatches(y.data, ref, 'matmul')
        const out = zeros([p.m, p.n])
        expect(matmulInto(a, b, out, opts)).toBe(out)
        expectMatches(out.data, ref, 'matmulInto')
        expect(p.A).toEqual(before[0])
        expect(p.B).toEqual(before[1])
      }),
    )
  })

  it('treats vectors as np.dot does and ignores their transpose flags', () => {
    setKernelBackend(backend)
    const W = tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ])
    expect(toArray(matmul(W, tensor([1, 1])))).toEqual([3, 7, 11])
    expect(toArray(matmul(W, tensor([1, 1, 1]), { transposeA: true }))).toEqual([9, 12])
    expect(toArray(matmul(tensor([1, 1]), W, { transposeA: true, transposeB: true }))).toEqual([
      3, 7, 11,
    ])
    expect(toArray(matmul(tensor([1, 2]), tensor([3, 4])))).toBe(11)
  })
})

describe('matmul errors', () => {
  const W = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ])
  it('names both shapes, marking transposed ones', () => {
    expect(() => matmul(W, tensor([[1], [2], [3], [4]]))).toThrow(
      'matmul: shapes [2,3] and [4,1] do not align',
    )
    expect(() => matmul(W, tensor([[1], [2], [3], [4]]), { transposeA: true })).toThrow(
      'matmul: shapes [2,3]ᵀ and [4,1] do not align',
    )
    expect(() => matmul(W, W)).toThrow('matmul: shapes [2,3] and [2,3] do not align')
    expect(() => matmul(W, W, { transposeB: true })).not.toThrow()
  })
  it('rejects a non-boolean flag', () => {
    expect(() => matmul(W, W, { transposeA: 1 as unknown as boolean })).toThrow(
      new TypeError('matmul: transposeA: expected a boolean, got 1'),
    )
  })
  it('matmulInto checks the output shape and that it does not overlap an operand', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ])
    expect(() => matmulInto(x, tensor([1, 1]), zeros([3]))).toThrow(
      'matmulInto: out: expected shape [2], got [3]',
    )
    expect(() => matmulInto(x, x, x)).toThrow(
      new RangeError(
        'matmulInto: out: expected memory apart from a and b, got a view overlapping a',
      ),
    )
    const buf = new Float64Array(8)
    const a = { shape: [2, 2], data: buf.subarray(0, 4) }
    expect(() => matmulInto(x, a, { shape: [2, 2], data: buf.subarray(2, 6) })).toThrow(
      'matmulInto: out: expected memory apart from a and b, got a view overlapping b',
    )
    // adjacent, not overlapping: fine
    expect(toArray(matmulInto(x, a, { shape: [2, 2], data: buf.subarray(4, 8) }))).toEqual([
      [0, 0],
      [0, 0],
    ])
  })
  it('setKernelBackend rejects unknown names', () => {
    expect(() => setKernelBackend('gpu' as KernelBackend)).toThrow(
      new TypeError('setKernelBackend: backend: expected "js", "wasm" or "auto", got "gpu"'),
    )
  })
})

describe('looksSparse (the sparse-or-dense guess, before any copy)', () => {
  it('does not take a half-dense layer with a dead unit for sparse', () => {
    // 128×128, column 0 all zeros, every other entry elsewhere non-zero: a sample stride of
    // 256 = two rows saw column 0 only and said sparse
    const A = Float64Array.from({ length: 128 * 128 }, (_, q) =>
      q % 128 !== 0 && (q + (q >> 7)) % 2 === 1 ? 1 : 0,
    )
    expect(looksSparse(A, A.length)).toBe(false)
  })

  it('takes an image-like batch (19% non-zero, at random) for sparse', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        let s = seed
        const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
        const A = Float64Array.from({ length: 128 * 784 }, () => (rand() < 0.19 ? rand() : 0))
        // 256 samples at p = 0.19 (sd of the share 0.025): above 0.3 (~1e-4) the exact count
        // decides (~19% < 30%); a "clearly dense" share above 0.4 is 8 sd away
        expect(looksSparse(A, A.length)).toBe(true)
      }),
    )
  })

  it('counts exactly between the clear cases: at most 30% non-zero is sparse', () => {
    // 100 entries: every one is sampled, so the count decides at the threshold
    const withNonZeros = (count: number) =>
      Float64Array.from({ length: 100 }, (_, q) => (q < count ? 1 : 0))
    expect(looksSparse(withNonZeros(30), 100)).toBe(true)
    expect(looksSparse(withNonZeros(31), 100)).toBe(false)
  })
})

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('kernel backend selection', () => {
  it('GRADSTREAM_KERNELS=js forces the fallback from the start', () => {
    const run = (env: string) =>
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          "import('./src/index.ts').then((g) => console.log(g.getKernelBackend()))",
        ],
        { cwd: root, env: { ...process.env, GRADSTREAM_KERNELS: env }, encoding: 'utf8' },
      ).trim()
    expect(run('js')).toBe('js')
    expect(run('auto')).toBe('wasm')
  })

  it('the committed wasmBinary.ts is what the AssemblyScript source compiles to', () => {
    const built = execFileSync(
      process.execPath,
      ['src/tensor/kernels/assembly/build.mjs', '--print'],
      { cwd: root, encoding: 'utf8' },
    )
    expect(built).toBe(readFileSync(`${root}src/tensor/kernels/wasmBinary.ts`, 'utf8'))
  })
})
