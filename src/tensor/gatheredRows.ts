// Internal (not exported from src/index.ts): mini-batches of a mostly-zero dataset drawn as
// compressed rows. A sampler keeps one RowCache per run; each batch it draws is a tensor whose
// dense rows are copied only when someone reads its `data`, while a product with the batch on
// the left (backprop's x·W1 and xᵀ·δ1) gathers the batch's compressed rows straight into wasm
// memory (gemmKernel's holdGathered). On MNIST (19% non-zero) that replaces a 627 KB copy and
// its compression with a ~175 KB gather (14,500 entries) each step.
//
// Tensors are values (tensor.ts): the rows are read when batches draw them (where their non-zeros
// are at the first draw, their values by the second), so writing into the dataset's array during
// a run would leave the cache behind. One cache per run
// (not per dataset) bounds that to the run that is drawing.
import { resolvedBackend } from './kernels/gemmKernel.js'
import { SPARSE_MAX_DENSITY } from './kernels/jsKernels.js'
import { rowIndicesWasm, type RowEntries } from './kernels/wasmKernels.js'
import type { Tensor } from './tensor.js'
import { uninitializedF64 } from './uninitialized.js'

/** Rows narrower than this are copied as they are: too little to skip. */
const MIN_COLS = 64

/** Rows up to this long are copied number by number (a batch's one-hot targets: 10). */
const NARROW_ROW = 32

/** Rows compressed before the cache judges the dataset's density. */
const JUDGE_AFTER_ROWS = 256

/**
 * Where the non-zero entries of the rows of a matrix (rows×cols, row-major in `source`) are,
 * found the first time a batch draws a row and kept: row r's column indices are `colIdx` from
 * `start[r]`, `count[r]` of them (−1: not yet drawn), in increasing column order. Its values are
 * read from `source` when a batch is gathered, until a batch draws the row again: from then on
 * they are kept too, `vals` from `valStart[r]` (−1: not kept). Entries are the row's ≠ 0 (NaN
 * kept, ±0 dropped: the wasm kernels' csrRows rule).
 *
 * Why in two steps: the first pass over a data set writes every row's entries into fresh memory,
 * and this VM's first write to a page costs several times the copy itself (bench/RESULTS.md,
 * issue 21 session 7): indices alone (2 bytes a non-zero, 4 past 65,536 columns, where indices
 * and values took 12) spare most of it in a run that sees each row once (one epoch); values
 * read through the indices from the data set cost a scattered read each, so a run that draws a
 * row again keeps its values contiguous for a copy. Gives up (`dense`, arenas dropped) once the
 * rows it has seen are not sparse enough for the sparse kernels to pay.
 */
export class RowCache implements RowEntries {
  readonly start: Int32Array
  readonly count: Int32Array
  readonly valStart: Int32Array
  colIdx: Uint16Array | Int32Array
  vals = new Float64Array(0)
  dense = false
  private used = 0
  private valsUsed = 0
  private rowsSeen = 0
  /** the counts of the rows `findWasm` found last */
  private counts = new Int32Array(0)

  constructor(
    readonly source: Float64Array,
    readonly rows: number,
    readonly cols: number,
  ) {
    this.start = new Int32Array(rows)
    this.count = new Int32Array(rows).fill(-1)
    this.valStart = new Int32Array(rows).fill(-1)
    this.colIdx = this.indices(0)
  }

  /**
   * Finds the entries of the rows of `pick` not seen yet and keeps the values of those seen
   * before; false once the cache has given up.
   */
  admit(pick: Int32Array): boolean {
    if (this.dense) return false
    const { source, cols, start, count, valStart } = this
    const fresh = new Int32Array(pick.length)
    let nFresh = 0
    for (let i = 0; i < pick.length; i++) {
      const r = pick[i]
      if (count[r] === -1) {
        count[r] = -2 // found below (a row drawn twice in one batch: once)
        fresh[nFresh++] = r
      } else if (count[r] >= 0 && valStart[r] < 0) {
        // drawn again: its values kept from now on
        const s = start[r]
        const e = s + count[r]
        if (this.valsUsed + e - s > this.vals.length) this.growVals(this.valsUsed + e - s)
        const ci = this.colIdx
        const v = this.vals
        const o = r * cols
        let at = this.valsUsed
        valStart[r] = at
        for (let q = s; q < e; q++) v[at++] = source[o + ci[q]]
        this.valsUsed = at
      }
    }
    if (nFresh > 0) this.find(fresh, nFresh)
    if (this.rowsSeen >= JUDGE_AFTER_ROWS || this.rowsSeen === this.rows) {
      if (this.used > SPARSE_MAX_DENSITY * this.rowsSeen * cols) {
        this.dense = true
        this.colIdx = this.indices(0)
        this.vals = new Float64Array(0)
      }
    }
    return !this.dense
  }

  /** Finds the column indices of rows `fresh[0..n)`, drawn for the first time. */
  private find(fresh: Int32Array, n: number): void {
    const { source, cols, start, count } = this
    if (this.used + n * cols > this.colIdx.length) this.grow(this.used + n * cols)
    const ci = this.colIdx
    let at = this.used
    if (resolvedBackend() === 'wasm' && this.findWasm(fresh, n, at)) {
      for (let i = 0; i < n; i++) {
        start[fresh[i]] = at
        count[fresh[i]] = this.counts[i]
        at += this.counts[i]
      }
    } else {
      for (let i = 0; i < n; i++) {
        const r = fresh[i]
        const o = r * cols
        start[r] = at
        for (let j = 0; j < cols; j++) if (source[o + j] !== 0) ci[at++] = j
        count[r] = at - start[r]
      }
    }
    this.used = at
    this.rowsSeen += n
  }

  /** rowIndicesWasm into `counts`; false when linear memory cannot grow (a tape's arena open). */
  private findWasm(fresh: Int32Array, n: number, at: number): boolean {
    if (this.counts.length < n) this.counts = new Int32Array(n)
    try {
      rowIndicesWasm(this.source, this.cols, fresh, n, this.colIdx, at, this.counts)
      return true
    } catch (e) {
      if (!(e instanceof RangeError)) throw e
      return false
    }
  }

  private indices(length: number): Uint16Array | Int32Array {
    return this.cols <= 65536 ? new Uint16Array(length) : new Int32Array(length)
  }

  /**
   * Room for at least `need` indices: the first time, for every row at the density the cache
   * gives up above (a large array's pages are only mapped when first written, so room never
   * used costs no memory); after that (rows denser than that on average, until judged), doubling.
   */
  private grow(need: number): void {
    const ci = this.indices(this.capacity(need, this.colIdx.length))
    ci.set(this.colIdx.subarray(0, this.used))
    this.colIdx = ci
  }

  /** Room for at least `need` values, as `grow`. */
  private growVals(need: number): void {
    const v = new Float64Array(this.capacity(need, this.vals.length))
    v.set(this.vals.subarray(0, this.valsUsed))
    this.vals = v
  }

  private capacity(need: number, length: number): number {
    let cap = length === 0 ? Math.ceil(SPARSE_MAX_DENSITY * this.rows * this.cols) : 2 * length
    while (cap < need) cap *= 2
    return cap
  }
}

/** A cache for drawing batches of `t`'s rows, or null when `t` is not a matrix worth one. */
export function rowCache(t: Tensor): RowCache | null {
  if (t.shape.length !== 2 || t.shape[1] < MIN_COLS || t.shape[0] < 1) return null
  return new RowCache(t.data, t.shape[0], t.shape[1])
}

/** A batch drawn through a RowCache: its rows (`pick`) and their non-zero count. */
export interface Gathered {
  readonly cache: RowCache
  readonly pick: Int32Array
  readonly nnz: number
}

const gathered = new WeakMap<Tensor, Gathered>()

/** How `t` was drawn, if it is a batch from `takeRows` with a cache (and the cache still holds). */
export function gatheredFrom(t: Tensor): Gathered | undefined {
  const g = gathered.get(t)
  return g !== undefined && !g.cache.dense ? g : undefined
}

/**
 * The rows of `t` listed in `idx[start..end)`, as a new tensor with `end − start` rows. With a
 * `cache` for `t` (and while it holds), the rows are compressed into it and the dense tensor is
 * built only when its `data` is first read (an enumerable accessor: spreading, cloning and
 * posting the tensor read it as usual); `gatheredFrom` finds the compressed rows.
 */
export function takeRows(
  t: Tensor,
  idx: ArrayLike<number>,
  start = 0,
  end = idx.length,
  cache: RowCache | null = null,
): Tensor {
  const shape = [end - start, ...t.shape.slice(1)]
  if (cache === null || cache.source !== t.data)
    return { shape, data: denseRows(t, idx, start, end) }
  const pick = new Int32Array(end - start)
  for (let k = start; k < end; k++) pick[k - start] = idx[k]
  if (!cache.admit(pick)) return { shape, data: denseRows(t, idx, start, end) }
  let nnz = 0
  for (let i = 0; i < pick.length; i++) nnz += cache.count[pick[i]]
  let data: Float64Array | undefined
  const batch: Tensor = Object.defineProperty(
    { shape } as { shape: number[]; data: Float64Array },
    'data',
    {
      enumerable: true,
      get: () => (data ??= denseRows(t, pick, 0, pick.length)),
    },
  )
  gathered.set(batch, { cache, pick, nnz })
  return batch
}

/** The rows themselves, copied into a fresh array. */
function denseRows(t: Tensor, idx: ArrayLike<number>, start: number, end: number): Float64Array {
  const row = t.shape.length === 0 ? 1 : t.data.length / t.shape[0]
  // every element is written below (row by row), so the array need not be zeroed first
  const out = uninitializedF64((end - start) * row)
  const src = t.data
  if (row > NARROW_ROW) {
    for (let k = start; k < end; k++) {
      const i = idx[k]
      out.set(src.subarray(i * row, (i + 1) * row), (k - start) * row)
    }
    return out
  }
  // a subarray costs about as much as copying a few dozen numbers one by one
  for (let k = start, o = 0; k < end; k++) {
    const s = idx[k] * row
    for (let j = 0; j < row; j++) out[o++] = src[s + j]
  }
  return out
}
