import { ShapeError, show, showShape } from '../errors.js'
import { gatheredFrom } from './gatheredRows.js'
import { gemmHeld, gemmKernel, holdGathered, holdLeft, releaseHeld } from './kernels/gemmKernel.js'
import type { HeldSparse } from './kernels/wasmKernels.js'
import { expectTensor, type Tensor } from './tensor.js'
import { uninitializedF64 } from './uninitialized.js'

/** Options of `matmul` and `matmulInto`. */
export interface MatmulOptions {
  /** Multiply by the transpose of `a` (a matrix) without forming it; ignored for a vector. */
  readonly transposeA?: boolean
  /** Multiply by the transpose of `b` (a matrix) without forming it; ignored for a vector. */
  readonly transposeB?: boolean
}

interface Plan {
  m: number
  k: number
  n: number
  transA: boolean
  transB: boolean
  shape: number[]
}

function plan(
  fn: string,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions | undefined,
  // a batch drawn as compressed rows: made with a shape that fits its rows, and reading its
  // data would build the dense rows it exists to avoid
  gatheredA = false,
): Plan {
  if (!gatheredA) expectTensor(fn, 'a', a)
  expectTensor(fn, 'b', b)
  const ra = a.shape.length
  const rb = b.shape.length
  if (ra < 1 || ra > 2 || rb < 1 || rb > 2) {
    throw new ShapeError(
      `${fn}: expected vectors or matrices, got shapes ${showShape(a.shape)} and ${showShape(b.shape)}`,
    )
  }
  for (const field of ['transposeA', 'transposeB'] as const) {
    const v = opts?.[field]
    if (v !== undefined && typeof v !== 'boolean') {
      throw new TypeError(`${fn}: ${field}: expected a boolean, got ${show(v)}`)
    }
  }
  const transA = ra === 2 && opts?.transposeA === true
  const transB = rb === 2 && opts?.transposeB === true
  const m = ra === 2 ? a.shape[transA ? 1 : 0] : 1
  const k = a.shape[ra === 2 && !transA ? 1 : 0]
  const kb = rb === 2 ? b.shape[transB ? 1 : 0] : b.shape[0]
  const n = rb === 2 ? b.shape[transB ? 0 : 1] : 1
  if (k !== kb) {
    throw new ShapeError(
      `${fn}: shapes ${showShape(a.shape)}${transA ? 'ᵀ' : ''} and ${showShape(b.shape)}${transB ? 'ᵀ' : ''} do not align`,
    )
  }
  const shape = ra === 2 ? (rb === 2 ? [m, n] : [m]) : rb === 2 ? [n] : []
  return { m, k, n, transA, transB, shape }
}

/**
 * The matrix product, with NumPy's `np.dot` rules for vectors: `[m,k]·[k,n] → [m,n]`,
 * `[k]·[k,n] → [n]`, `[m,k]·[k] → [m]`, `[k]·[k] → []`. `transposeA` / `transposeB` multiply by
 * a matrix's transpose without forming it (`xᵀ·δ`, `δ·Wᵀ` in backpropagation).
 *
 * Runs on WebAssembly SIMD kernels where available, else on blocked JavaScript ones (see
 * `setKernelBackend`); when `a` is mostly zeros (MNIST images are ~80% zeros) a sparse kernel
 * skips its zero entries, only while `b` is all finite, so the result equals the dense sum in
 * the same order bit for bit, NaN and ∞ included (diverged weights show as NaN, as in NumPy).
 *
 * @example
 * ```ts
 * import { matmul, tensor, toArray } from 'gradstream'
 *
 * const W = tensor([
 *   [1, 2, 3],
 *   [4, 5, 6],
 * ])
 * console.log(toArray(matmul(tensor([0.6, 0.9]), W))) // → [ 4.2, 5.7, 7.2 ]
 * const x = tensor([
 *   [1, 2],
 *   [3, 4],
 * ])
 * const xtx = matmul(x, x, { transposeA: true }) // xᵀ·x, no transposed copy
 * console.log(toArray(xtx)) // → [ [ 10, 14 ], [ 14, 20 ] ]
 * ```
 * @throws {ShapeError} `matmul: shapes [2,3] and [4,1] do not align`
 * @throws {ShapeError} `matmul: shapes [2,3]ᵀ and [4,1] do not align`
 * @throws {TypeError} `matmul: transposeA: expected a boolean, got 1`
 * @see matmulInto
 */
export function matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
  const p = plan('matmul', a, b, opts)
  const out = new Float64Array(p.m * p.n)
  gemmKernel(a.data, b.data, out, p.m, p.k, p.n, p.transA, p.transB)
  return { shape: p.shape, data: out }
}

/**
 * `matmul` writing into a preallocated `out` (of exactly the result's shape) instead of
 * allocating, for a training step's hot path; returns `out`. `out` must not share memory with
 * `a` or `b`.
 *
 * @example
 * ```ts
 * import { matmulInto, tensor, toArray, zeros } from 'gradstream'
 *
 * const out = zeros([2])
 * const A = tensor([
 *   [1, 2],
 *   [3, 4],
 * ])
 * matmulInto(A, tensor([1, 1]), out)
 * console.log(toArray(out)) // → [ 3, 7 ]
 * ```
 * @throws {ShapeError} `matmulInto: out: expected shape [2], got [3]`
 * @throws {RangeError} `matmulInto: out: expected memory apart from a and b, got a view overlapping a`
 * @see matmul
 */
export function matmulInto(a: Tensor, b: Tensor, out: Tensor, opts?: MatmulOptions): Tensor {
  const p = plan('matmulInto', a, b, opts)
  expectTensor('matmulInto', 'out', out)
  if (
    out.shape.length !== p.shape.length ||
    out.shape.some((d, i) => d !== p.shape[i]) ||
    out.data.length !== p.m * p.n
  ) {
    throw new ShapeError(
      `matmulInto: out: expected shape ${showShape(p.shape)}, got ${showShape(out.shape)}`,
    )
  }
  for (const [name, t] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (overlaps(out.data, t.data)) {
      throw new RangeError(
        `matmulInto: out: expected memory apart from a and b, got a view overlapping ${name}`,
      )
    }
  }
  gemmKernel(a.data, b.data, out.data, p.m, p.k, p.n, p.transA, p.transB)
  return out
}

/** A left operand used in several products of one step (see `heldLeft`). */
export interface HeldLeft {
  /** `a·b` (a `matmul`), `b` [k,n]; into `out` (exactly m·n long, apart from `a` and `b`) if given. */
  times(b: Tensor, out?: Float64Array): Tensor
  /** `aᵀ·b` (a `matmul` with `transposeA`), `b` [m,n]; into `out` (k·n long) if given. */
  transposeTimes(b: Tensor, out?: Float64Array): Tensor
  /** Frees the held copy; products after it are plain `matmul`s. Call it in a `finally`. */
  release(): void
  /** The compressed copy in this thread's wasm memory, for kernels working on it; null if none. */
  held(): HeldSparse | null
}

/**
 * Internal (not exported from the package): a matrix `a` [m,k] used as the left operand of
 * `a·B` and `aᵀ·D` in one step — backprop's `x·W1` and `xᵀ·δ1`. When `matmul` would take the
 * WebAssembly sparse path for `a`, `a` is copied into linear memory and compressed (rows, and
 * columns by a transpose of the compressed rows) once, and both products use that copy until
 * `release()`; otherwise each product is an ordinary `matmul`. Results equal `matmul`'s bit for
 * bit. The copy is taken here, so `a` must not change until `release()` — the caller holds it
 * for the few lines of one function, never across calls (no cache that could go stale). A batch
 * drawn as compressed rows (gatheredRows.ts) is held from those rows, its dense `data` unread.
 * With `transpose` false (forward products only) the columns are compressed at the first `aᵀ·b`.
 */
export function heldLeft(a: Tensor, transpose = true): HeldLeft {
  const rows = gatheredFrom(a)
  const h =
    a.shape.length !== 2
      ? null
      : rows !== undefined
        ? holdGathered(rows)
        : holdLeft(a.data, a.shape[0], a.shape[1], transpose)
  return new Held(a, rows !== undefined, h)
}

/**
 * {@link heldLeft}'s products: methods of a class, not closures each call makes (tsx names every
 * closure bound to a name as it is made, ~0.7 µs each: src/autodiff/valueAndGrad.ts' Walk).
 */
class Held implements HeldLeft {
  constructor(
    private readonly a: Tensor,
    /** whether `a` was drawn as compressed rows (gatheredRows.ts) */
    private readonly gathered: boolean,
    private h: HeldSparse | null,
  ) {}

  times(b: Tensor, out?: Float64Array): Tensor {
    return this.product(b, false, out)
  }

  transposeTimes(b: Tensor, out?: Float64Array): Tensor {
    return this.product(b, true, out)
  }

  release(): void {
    if (this.h !== null) releaseHeld(this.h)
    this.h = null
  }

  // a hold in the memory of two threads (HeldSparse.split) is for these products alone
  held(): HeldSparse | null {
    return this.h?.split === undefined ? this.h : null
  }

  private product(b: Tensor, transposeA: boolean, into: Float64Array | undefined): Tensor {
    const { a, h } = this
    const p = plan('matmul', a, b, transposeA ? { transposeA } : undefined, this.gathered)
    // the kernels overwrite every element of out (gemmKernel's contract): no need to zero it
    const out = into ?? uninitializedF64(p.m * p.n)
    if (out.length !== p.m * p.n) {
      throw new ShapeError(
        `matmul: out: expected ${p.m * p.n} elements (${showShape(p.shape)}), got ${out.length}`,
      )
    }
    if (h === null || b.shape.length !== 2) {
      gemmKernel(a.data, b.data, out, p.m, p.k, p.n, p.transA, p.transB)
    } else gemmHeld(h, () => a.data, b.data, out, p.n, transposeA, false)
    return { shape: p.shape, data: out }
  }
}

function overlaps(x: Float64Array, y: Float64Array): boolean {
  if (x.buffer !== y.buffer || x.length === 0 || y.length === 0) return false
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength
}

/**
 * `out[m×n] = op(A)·op(B)` on raw row-major arrays, where `op(A)` is `m×k` (`A` stored `k×m`
 * when `transA`) and `op(B)` is `k×n` (`B` stored `n×k` when `transB`); the kernel behind
 * `matmul`, for code that manages its own buffers. `out` must not overlap `A` or `B`.
 *
 * @example
 * ```ts
 * import { gemm } from 'gradstream'
 *
 * const out = new Float64Array(1)
 * gemm(Float64Array.of(1, 2), Float64Array.of(3, 4), out, 1, 2, 1) // [1, 2]·[3, 4]ᵀ
 * console.log(out) // → Float64Array(1) [ 11 ]
 * const A = Float64Array.of(1, 2, 3, 4) // [[1, 2], [3, 4]]
 * const AtA = new Float64Array(4)
 * gemm(A, A, AtA, 2, 2, 2, true) // Aᵀ·A, A read transposed in place
 * console.log(AtA) // → Float64Array(4) [ 10, 14, 14, 20 ]
 * ```
 */
export function gemm(
  A: Float64Array,
  B: Float64Array,
  out: Float64Array,
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
): void {
  // a few comparisons a call (nothing per element): sizes that do not fit the arrays would loop
  // over numbers that are not there (or for ever, for m = 1e12)
  for (const [field, v] of [
    ['m', m],
    ['k', k],
    ['n', n],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 32) {
      throw new RangeError(`gemm: ${field}: expected a non-negative integer, got ${show(v)}`)
    }
  }
  for (const [field, v, len] of [
    ['A', A, m * k],
    ['B', B, k * n],
    ['out', out, m * n],
  ] as const) {
    if (!(v instanceof Float64Array)) {
      throw new TypeError(`gemm: ${field}: expected a Float64Array, got ${show(v)}`)
    }
    if (v.length < len) {
      throw new RangeError(`gemm: ${field}: expected at least ${len} numbers, got ${v.length}`)
    }
  }
  gemmKernel(A, B, out, m, k, n, transA === true, transB === true)
}

/**
 * Swaps the two axes of a matrix; a vector or rank-0 tensor comes back unchanged (as NumPy's
 * `.T`).
 *
 * @example
 * ```ts
 * import { tensor, toArray, transpose } from 'gradstream'
 *
 * const t = tensor([
 *   [1, 2, 3],
 *   [4, 5, 6],
 * ])
 * console.log(toArray(transpose(t))) // → [ [ 1, 4 ], [ 2, 5 ], [ 3, 6 ] ]
 * ```
 */
export function transpose(t: Tensor): Tensor {
  expectTensor('transpose', 't', t)
  if (t.shape.length < 2) return { shape: [...t.shape], data: t.data.slice() }
  if (t.shape.length > 2) {
    throw new ShapeError(`transpose: expected a matrix, got shape ${showShape(t.shape)}`)
  }
  const [m, n] = t.shape
  const out = new Float64Array(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = t.data[i * n + j]
  return { shape: [n, m], data: out }
}
