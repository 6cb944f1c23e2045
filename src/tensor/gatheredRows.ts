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
import {
  rowIndicesWasm,
  type ByteRows,
  type Levels,
  type RowEntries,
  type StagedRows,
} from './kernels/wasmKernels.js'
import { lazyData, lazyTensor } from './lazyData.js'
import { oneHotLabelsTensor } from './oneHotLabels.js'
import type { Tensor } from './tensor.js'
import { uninitializedF64 } from './uninitialized.js'

/** Rows narrower than this are copied as they are: too little to skip. */
const MIN_COLS = 64

/** Rows up to this long are copied number by number (a batch's one-hot targets: 10). */
const NARROW_ROW = 32

/** Rows compressed before the cache judges the dataset's density. */
const JUDGE_AFTER_ROWS = 256

/**
 * The 8-bit levels a row cache tries, in order: `loadMnist`'s byte·(1/255), byte / 255, the byte.
 */
const LEVELS: readonly Levels[] = [
  { mul: 1 / 255, div: 1 },
  { mul: 1, div: 255 },
  { mul: 1, div: 1 },
]

/** Rows a batch took from a RowCache's `bulk` rather than compressing them (tests, benchmarks). */
export const bulkStats = { rows: 0 }

/** Float64 arrays whose numbers are 8-bit levels, and their bytes (`keepBytes`). */
const keptBytes = new WeakMap<Float64Array, { bytes: Uint8Array; levels: Levels }>()

/** Float64 arrays of one-hot rows, and their labels (`keepLabels`). */
const keptLabels = new WeakMap<Float64Array, Uint8Array>()

/**
 * Notes that `data`'s numbers are the 8-bit levels `bytes`: `data[i]` is `(bytes[i]·mul) / div`
 * bit for bit (0 for a byte 0), as loadMnist makes its images from the file's bytes. Batches of a
 * matrix over `data` are then compressed from the bytes, an eighth of the memory the numbers
 * take (a first draw reads each row from memory, cold): the same entries. The caller vouches
 * for the equality, and neither array may change afterwards (arrays are values).
 */
export function keepBytes(data: Float64Array, bytes: Uint8Array, levels: Levels): void {
  if (bytes.length === data.length) keptBytes.set(data, { bytes, levels })
}

/**
 * Notes that `data` holds one-hot rows of `labels.length` columns or more: row r is +0 but for a
 * 1 in column `labels[r]`, as `oneHot` writes them. Batches of them are then built from the
 * labels (a small array) without reading the rows. The caller vouches for it, as for keepBytes.
 */
export function keepLabels(data: Float64Array, labels: Uint8Array): void {
  keptLabels.set(data, labels)
}

/**
 * Where the non-zero entries of the rows of a matrix (rows×cols, row-major in `source`) are,
 * found the first time a batch draws a row and kept: row r's are `rowAt[2r + 1]` entries from
 * `rowAt[2r]` (the count −1: not yet drawn; −3: drawn unread, see `defer`), in increasing column
 * order, both in one place: a draw reads them for 100 rows at random (a cache miss each).
 * Entries are the row's ≠ 0 (NaN kept, ±0 dropped: the wasm kernels' csrRows rule).
 *
 * Images: when every value found is an 8-bit level (`levels`: byte·(1/255) as `loadMnist` scales,
 * byte / 255, or the byte), the entries are kept `packed`, column and level in 4 bytes
 * (`col | k << 16`, value `(k·mul) / div` bit for bit), and a batch is gathered by one copy a
 * row and unpacked in wasm. A third of the bytes of a column index and a float64 matters: a
 * batch reads 100 rows from random places of the cache, and on this VM each cold row costs
 * cache and TLB misses that outweigh the copy (bench/RESULTS.md, issue 21 session 8).
 *
 * Other values (or the JavaScript kernels): the row's column indices are `colIdx` from its start;
 * its values are read from `source` when a batch is gathered, until a batch draws the row
 * again: from then on they are kept too, `vals` from `valStart[r]` (−1: not kept). Why in two
 * steps: the first pass over a data set writes every row's entries into fresh memory, and this
 * VM's first write to a page costs several times the copy itself (bench/RESULTS.md, issue 21
 * session 7): indices alone (2 bytes a non-zero, 4 past 65,536 columns, where indices and values
 * took 12) spare most of it in a run that sees each row once (one epoch); values read through
 * the indices from the data set cost a scattered read each, so a run that draws a row again
 * keeps its values contiguous for a copy. A value that is not a level switches a packed cache
 * to this form for good (its rows unpacked once). Gives up (`dense`, arenas dropped) once the
 * rows it has seen are not sparse enough for the sparse kernels to pay.
 */
export class RowCache implements RowEntries {
  readonly rowAt: Int32Array
  readonly valStart: Int32Array
  levels: Levels | null = null
  packed: Int32Array<ArrayBufferLike> = new Int32Array(0)
  colIdx: Uint16Array | Int32Array
  vals = new Float64Array(0)
  dense = false
  /**
   * Batches prepared ahead on another thread (src/parallel's rowPrefetch.ts sets it, with
   * `shared`, before the first draw): `post` is given each batch drawn with packed rows, and
   * `settle` is called before packed entries are rewritten in place
   */
  prefetch: RowPrefetcher | null = null
  /** packed entries kept in shared memory (SharedArrayBuffer), for `prefetch`'s thread to read */
  shared = false
  /**
   * Rows being compressed ahead by `prefetch`'s thread, or null (see BulkRows): set at the first
   * draw of a `shared` cache whose rows are kept as bytes in shared memory.
   */
  bulk: BulkRows | null = null
  /**
   * the rows as bytes where `source`'s numbers are kept so (keepBytes), else null: an unread
   * batch is held from them (gemmKernel.ts holdGathered), and rows found for the cache are
   * compressed from them where it packs them at their levels (rowIndicesWasm, csrRowsBytes)
   */
  readonly bytes: ByteRows | null = null
  private used = 0
  private valsUsed = 0
  private rowsSeen = 0
  /** `bulk`'s words at the start of `packed` (`used` starts past them), entries taken from it */
  private zone = 0
  private bulkEntries = 0
  /** the counts of the rows found last */
  private counts = new Int32Array(0)
  /** the rows of a batch drawn for the first time */
  private fresh = new Int32Array(0)

  constructor(
    readonly source: Float64Array,
    readonly rows: number,
    readonly cols: number,
    /** leave a batch of rows none of which was drawn before to `unread` batches (see `defer`) */
    readonly deferFirst = false,
  ) {
    this.rowAt = new Int32Array(2 * rows)
    for (let r = 0; r < rows; r++) this.rowAt[2 * r + 1] = -1
    this.valStart = new Int32Array(rows).fill(-1)
    this.colIdx = this.indices(0)
    const kept = keptBytes.get(source)
    if (kept !== undefined && cols <= 65536 && kept.bytes.length >= rows * cols) {
      this.bytes = { bytes: kept.bytes, cols, levels: kept.levels }
    }
  }

  /**
   * With `deferFirst`, on the wasm backend: when no row of `pick` was drawn before, marks them
   * drawn (count −3) without reading them and returns true — the batch is `unread`: a product
   * that holds it compresses its rows straight from `source` into wasm memory, and `admit` finds
   * them (as rows drawn for the first time) for anything else that needs their entries. Else
   * false, marking nothing. A run that draws each row once (one epoch) then reads each row once
   * and keeps nothing: the cache's pages, each first written at a page fault, are written only
   * for rows drawn again.
   */
  defer(pick: Int32Array): boolean {
    if (!this.deferFirst || this.dense || resolvedBackend() !== 'wasm') return false
    const { rowAt } = this
    for (let i = 0; i < pick.length; i++) if (rowAt[2 * pick[i] + 1] !== -1) return false
    for (let i = 0; i < pick.length; i++) rowAt[2 * pick[i] + 1] = -3
    return true
  }

  /**
   * Gives up (`dense`: later batches are drawn as dense rows), dropping what it kept: the rows
   * seen are not sparse enough for the sparse kernels to pay, or a hold of an unread batch found
   * more non-zeros than they take.
   */
  giveUp(): void {
    this.stopBulk()
    this.dense = true
    this.levels = null
    this.packed = new Int32Array(0)
    this.colIdx = this.indices(0)
    this.vals = new Float64Array(0)
  }

  /**
   * Finds the entries of the rows of `pick` not seen yet and keeps the values of those seen
   * before; false once the cache has given up.
   */
  admit(pick: Int32Array): boolean {
    if (this.dense) return false
    const { source, cols, rowAt, valStart } = this
    if (this.fresh.length < pick.length) this.fresh = new Int32Array(pick.length)
    const fresh = this.fresh
    const packed = this.levels !== null
    let nFresh = 0
    for (let i = 0; i < pick.length; i++) {
      const r = pick[i]
      const c = rowAt[2 * r + 1]
      if (c === -1 || c === -3) {
        // not drawn, or drawn unread: found below (a row drawn twice in one batch: once)
        rowAt[2 * r + 1] = -2
        fresh[nFresh++] = r
      } else if (!packed && c >= 0 && valStart[r] < 0) {
        // drawn again: its values kept from now on
        const s = rowAt[2 * r]
        const e = s + c
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
      const entries = this.used - this.zone + this.bulkEntries
      if (entries > SPARSE_MAX_DENSITY * this.rowsSeen * cols) this.giveUp()
    }
    return !this.dense
  }

  /** Finds the entries of rows `fresh[0..n)`, drawn for the first time. */
  private find(fresh: Int32Array, n: number): void {
    if (this.rowsSeen === 0) this.levels = this.levelsOf(fresh[0])
    if (this.levels !== null) {
      n = this.fromBulk(fresh, n)
      if (n === 0 || this.findPacked(fresh, n)) return
      // a value of no level: the first row may have fitted two forms (most bytes give the same
      // number as byte·(1/255) and byte / 255); another form that gives every value so far may
      // fit the new rows too
      for (const other of LEVELS) {
        if (other !== this.levels && this.relevel(other) && this.findPacked(fresh, n)) return
      }
      this.unpackAll()
    }
    const { source, cols, rowAt } = this
    if (this.used + n * cols > this.colIdx.length) this.grow(this.used + n * cols)
    const ci = this.colIdx
    let at = this.used
    if (resolvedBackend() === 'wasm' && this.findWasm(fresh, n, at, ci, null) >= 0) {
      for (let i = 0; i < n; i++) {
        rowAt[2 * fresh[i]] = at
        rowAt[2 * fresh[i] + 1] = this.counts[i]
        at += this.counts[i]
      }
    } else {
      for (let i = 0; i < n; i++) {
        const r = fresh[i]
        const o = r * cols
        const s = at
        for (let j = 0; j < cols; j++) if (source[o + j] !== 0) ci[at++] = j
        rowAt[2 * r] = s
        rowAt[2 * r + 1] = at - s
      }
    }
    this.used = at
    this.rowsSeen += n
  }

  /** The first of LEVELS that gives every value of row r, or null. */
  private levelsOf(r: number): Levels | null {
    if (this.cols > 65536) return null
    const { source, cols } = this
    const o = r * cols
    return (
      LEVELS.find(({ mul, div }) => {
        for (let j = 0; j < cols; j++) {
          const v = source[o + j]
          if (v === 0) continue
          const k = Math.round(v * (div / mul))
          if (!(k >= 1 && k <= 255) || (k * mul) / div !== v) return false
        }
        return true
      }) ?? null
    )
  }

  /** `find` into `packed`; false, keeping nothing, when a value is not a level. */
  private findPacked(fresh: Int32Array, n: number): boolean {
    const { source, cols, rowAt, levels } = this
    const { mul, div } = levels!
    if (this.used + n * cols > this.packed.length) {
      // the first room: below it, room for `bulk` where another thread can compress the rows
      if (this.packed.length === 0) this.used = this.zone = this.openBulk()
      // grown: the other thread's later rows would land in the memory left behind
      else this.stopBulk()
      const cap = this.zone + this.capacity(this.used - this.zone + n * cols, this.packed.length)
      const p = this.shared ? new Int32Array(new SharedArrayBuffer(4 * cap)) : new Int32Array(cap)
      p.set(this.packed.subarray(0, this.used))
      this.packed = p
    }
    const P = this.packed
    let at = this.used
    if (resolvedBackend() === 'wasm') {
      const end = this.findWasm(fresh, n, at, P, levels)
      if (end === -1) return false
      if (end >= 0) {
        for (let i = 0; i < n; i++) {
          rowAt[2 * fresh[i]] = at
          rowAt[2 * fresh[i] + 1] = this.counts[i]
          at += this.counts[i]
        }
        at = end
      }
    }
    if (at === this.used) {
      // the JavaScript kernels, or linear memory that cannot grow: csrPack's rule here
      const inv = div / mul
      const counts = this.counts.length < n ? (this.counts = new Int32Array(n)) : this.counts
      for (let i = 0; i < n; i++) {
        const o = fresh[i] * cols
        const s = at
        for (let j = 0; j < cols; j++) {
          const v = source[o + j]
          if (v === 0) continue
          const k = Math.round(v * inv)
          if (!(k >= 1 && k <= 255) || (k * mul) / div !== v) return false
          P[at++] = j | (k << 16)
        }
        counts[i] = at - s
      }
      for (let i = 0, q = this.used; i < n; i++) {
        rowAt[2 * fresh[i]] = q
        rowAt[2 * fresh[i] + 1] = counts[i]
        q += counts[i]
      }
    }
    this.used = at
    this.rowsSeen += n
    return true
  }

  /**
   * Where another thread compresses the rows ahead (`bulk`), or 0 words: a shared cache (its
   * batches are prepared on rowPrefetch's worker) of rows kept as bytes in shared memory, packed
   * at the bytes' own levels (then a row's level k is its byte).
   */
  private openBulk(): number {
    const b = this.bytes
    const levels = this.levels!
    if (
      !this.shared ||
      b === null ||
      typeof SharedArrayBuffer !== 'function' ||
      !(b.bytes.buffer instanceof SharedArrayBuffer) ||
      levels.mul !== b.levels.mul ||
      levels.div !== b.levels.div
    )
      return 0
    const zone = this.capacity(0, 0)
    const { rows, cols } = this
    const at = new Int32Array(new SharedArrayBuffer(4 * (2 * rows + 2)))
    const found = new Uint8Array(new SharedArrayBuffer(rows))
    this.bulk = { bytes: b.bytes, cols, rows, zone, at, found }
    return zone
  }

  /** Ends `bulk`: the rows it compressed and this cache took stay where they are. */
  private stopBulk(): void {
    if (this.bulk === null) return
    Atomics.store(this.bulk.at, 2 * this.rows + 1, 1)
    this.bulk = null
  }

  /**
   * Takes the rows of `fresh[0..n)` that `bulk` has compressed (their entries where it put them)
   * and returns how many are left, moved to the front of `fresh`.
   */
  private fromBulk(fresh: Int32Array, n: number): number {
    const b = this.bulk
    if (b === null) return n
    const A = b.at
    const done = Atomics.load(A, 2 * this.rows)
    if (done === 0) return n
    const { rowAt } = this
    let left = 0
    let entries = 0
    for (let i = 0; i < n; i++) {
      const r = fresh[i]
      if (r >= done) {
        fresh[left++] = r
        b.found[r] = 1
        continue
      }
      const c = A[2 * r + 1]
      rowAt[2 * r] = A[2 * r]
      rowAt[2 * r + 1] = c
      entries += c
    }
    this.bulkEntries += entries
    this.rowsSeen += n - left
    bulkStats.rows += n - left
    return left
  }

  /**
   * rowIndicesWasm into `out` from `at`, the counts into `counts`: the end, −1 when a value is
   * not one of `levels`, −2 when linear memory cannot grow (a tape's arena open).
   */
  private findWasm(
    fresh: Int32Array,
    n: number,
    at: number,
    out: Uint16Array | Int32Array,
    levels: Levels | null,
  ): number {
    if (this.counts.length < n) this.counts = new Int32Array(n)
    try {
      const { source, cols, counts, bytes } = this
      const end = rowIndicesWasm(source, cols, fresh, n, out, at, counts, levels, bytes)
      return end < 0 ? -1 : end
    } catch (e) {
      if (!(e instanceof RangeError)) throw e
      return -2
    }
  }

  /** Packs the rows found so far with levels `to` if it gives each of their values; else false. */
  private relevel(to: Levels): boolean {
    const { mul, div } = this.levels!
    const { packed, used } = this
    // not in place over rows another thread is writing
    if (this.zone > 0) return false
    const inv = to.div / to.mul
    for (let q = 0; q < used; q++) {
      const v = ((packed[q] >>> 16) * mul) / div
      const k = Math.round(v * inv)
      if (!(k >= 1 && k <= 255) || (k * to.mul) / to.div !== v) return false
    }
    // rewritten in place: no batch may be gathered from them meanwhile
    this.prefetch?.settle()
    for (let q = 0; q < used; q++) {
      const v = ((packed[q] >>> 16) * mul) / div
      packed[q] = (packed[q] & 0xffff) | (Math.round(v * inv) << 16)
    }
    this.levels = to
    return true
  }

  /** Packed rows into `colIdx` and `vals` (kept at the same positions): no levels from now on. */
  private unpackAll(): void {
    this.stopBulk()
    const { mul, div } = this.levels!
    const { packed, used, rowAt, valStart } = this
    const ci = this.indices(this.capacity(used, 0))
    const v = new Float64Array(this.capacity(used, 0))
    for (let q = 0; q < used; q++) {
      ci[q] = packed[q] & 0xffff
      v[q] = ((packed[q] >>> 16) * mul) / div
    }
    for (let r = 0; r < this.rows; r++) if (rowAt[2 * r + 1] >= 0) valStart[r] = rowAt[2 * r]
    this.colIdx = ci
    this.vals = v
    this.valsUsed = used
    this.levels = null
    this.packed = new Int32Array(0)
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

/**
 * Where a RowCache's batches are prepared ahead (src/parallel's rowPrefetch.ts): `post` starts
 * preparing batch `pick` (`nnz` packed entries, found by `admit`) and returns its ticket (0: it
 * cannot); `claim(ticket)` gives its CSRs where they are ready, or null when the caller should
 * gather them itself (not taken up yet: then never); `settle` drops every preparation under way.
 */
export interface RowPrefetcher {
  post(pick: Int32Array, nnz: number): number
  claim(ticket: number): StagedRows | null
  settle(): void
}

/**
 * A RowCache's rows compressed ahead on another thread (rowPrefetch.ts' worker, where its core is
 * idle) from `bytes`, rows × cols in shared memory, in row order: row r's entries packed as the
 * cache packs them (`col | byte << 16`: the cache's levels are the bytes') into the cache's
 * `packed` below `zone`, at `at[2r]`, `at[2r + 1]` of them, once `at[2·rows]` (rows done, stored
 * after them) passes r; `at[2·rows + 1]` ≠ 0 once stopped (1: by the cache, 2: out of room). A
 * batch takes its rows drawn for the first time from there where it can, rather than compress
 * them on the step's thread (~3 µs a row, the cache's first-touch faults included): the same
 * entries. The rows it compresses itself it marks in `found` (≠ 0), which the other thread
 * then skips (their `at` left unset: never read).
 */
export interface BulkRows {
  readonly bytes: Uint8Array
  readonly rows: number
  readonly cols: number
  readonly zone: number
  readonly at: Int32Array
  readonly found: Uint8Array
}

/**
 * A cache for drawing batches of `t`'s rows, or null when `t` is not a matrix worth one;
 * `deferFirst`: see RowCache.defer.
 */
export function rowCache(t: Tensor, deferFirst = false): RowCache | null {
  if (t.shape.length !== 2 || t.shape[1] < MIN_COLS || t.shape[0] < 1) return null
  return new RowCache(t.data, t.shape[0], t.shape[1], deferFirst)
}

/**
 * The rows of a matrix of targets (rows×cols, row-major in `source`) that are one-hot — one
 * entry 1, the others +0, as `oneHot` writes them — kept as their labels the first time a batch
 * draws them: `label[r]` is the column of row r's 1 (−1: not drawn yet, −2: not one-hot). A
 * batch's rows are then built from 100 labels in a small array rather than copied from 100
 * random places in the targets (each a cache and TLB miss: on MNIST's 4.8 MB of one-hot rows
 * that was most of a draw); a row that is not one-hot is copied as it is. The same numbers either
 * way, bit for bit.
 */
export class OneHotRows {
  /** in the narrowest array that holds them (a draw reads 100 at random: a cache miss each) */
  readonly label: Int8Array | Int16Array | Int32Array

  constructor(
    readonly source: Float64Array,
    readonly rows: number,
    readonly cols: number,
  ) {
    const kept = keptLabels.get(source)
    const Labels = cols <= 127 ? Int8Array : cols <= 32767 ? Int16Array : Int32Array
    // labels kept with the rows (keepLabels): every row's known
    this.label =
      kept !== undefined && kept.length >= rows && kept.subarray(0, rows).every((l) => l < cols)
        ? Labels.from(kept.subarray(0, rows))
        : new Labels(rows).fill(-1)
  }

  /**
   * The rows `idx[start..end)`: as their labels (oneHotLabels.ts, the rows made on first read)
   * when every one is one-hot, else into a fresh array, as `denseRows` copies them.
   */
  take(idx: ArrayLike<number>, start: number, end: number): Tensor {
    const { source, cols, label } = this
    const labels: number[] = []
    for (let k = start; k < end; k++) {
      const r = idx[k]
      let l = label[r]
      if (l === -1) l = label[r] = this.find(r)
      if (l < 0) break
      labels.push(l)
    }
    if (labels.length === end - start) return oneHotLabelsTensor(labels, cols)
    const out = new Float64Array((end - start) * cols) // zeros: a one-hot row writes one entry
    for (let k = start, o = 0; k < end; k++, o += cols) {
      const r = idx[k]
      let l = label[r]
      if (l === -1) l = label[r] = this.find(r)
      if (l >= 0) out[o + l] = 1
      else for (let j = 0, s = r * cols; j < cols; j++) out[o + j] = source[s + j]
    }
    return { shape: [end - start, cols], data: out }
  }

  /** Row r's label, or −2 when it is not one +1 among +0s. */
  private find(r: number): number {
    const { source, cols } = this
    let l = -2
    for (let j = 0, s = r * cols; j < cols; j++) {
      const v = source[s + j]
      if (v === 1 && l === -2) l = j
      else if (v !== 0 || 1 / v < 0) return -2 // a second 1, another value, or −0
    }
    return l
  }
}

/** Label rows for drawing batches of `t`'s rows, or null when `t` is not a matrix of them. */
export function oneHotRows(t: Tensor): OneHotRows | null {
  if (t.shape.length !== 2 || t.shape[1] < 2 || t.shape[0] < 1) return null
  return new OneHotRows(t.data, t.shape[0], t.shape[1])
}

/**
 * A batch drawn through a RowCache: its rows (`pick`) and their non-zero count. An `unread`
 * batch's rows (RowCache.defer) are in the cache only once `nnz` has been read: reading it finds
 * them (Infinity when the cache gives up on them), so read `nnz` before the cache's entries.
 */
export interface Gathered {
  readonly cache: RowCache
  readonly pick: Int32Array
  readonly nnz: number
  /** true until `nnz` is read for a batch drawn unread: its entries are in `cache.source` only */
  readonly unread: boolean
  /**
   * `nnz`, without finding an unread batch's rows once a hold has counted them (`counted`): a
   * measure of work, not a licence to read the cache's entries.
   */
  readonly nonZeros: number
  /** Notes the non-zeros a hold counted in an unread batch's rows. */
  counted(nnz: number): void
  /** the batch's CSRs prepared ahead (RowCache.prefetch), or null: gather them */
  staged?(): StagedRows | null
}

/** A batch's ticket with its cache's prefetcher (0: none), read by `staged`. */
type Ahead = Gathered & { readonly ahead: number }

/** Gathered.counted of a batch read at its draw: nothing to note (one function for every batch). */
function counted(): void {}

/** Gathered.staged, one function for every batch (no closure a batch: see lazyData below). */
function staged(this: Ahead): StagedRows | null {
  return this.ahead === 0 ? null : (this.cache.prefetch?.claim(this.ahead) ?? null)
}

const gathered = new WeakMap<Tensor, Gathered>()

/** How `t` was drawn, if it is a batch from `takeRows` with a cache (and the cache still holds). */
export function gatheredFrom(t: Tensor): Gathered | undefined {
  const g = gathered.get(t)
  return g !== undefined && !g.cache.dense ? g : undefined
}

/**
 * The rows of `t` listed in `idx[start..end)`, as a new tensor with `end − start` rows. With
 * `oneHotRows(t)` as `cache`, one-hot rows are built from their labels. With a row cache
 * for `t` (and while it holds), the rows are compressed into it and the dense tensor is
 * built only when its `data` is first read (an enumerable accessor: spreading, cloning and
 * posting the tensor read it as usual); `gatheredFrom` finds the compressed rows.
 */
export function takeRows(
  t: Tensor,
  idx: ArrayLike<number>,
  start = 0,
  end = idx.length,
  cache: RowCache | OneHotRows | null = null,
): Tensor {
  const shape = [end - start, ...t.shape.slice(1)]
  if (cache instanceof OneHotRows && cache.source === t.data) return cache.take(idx, start, end)
  if (!(cache instanceof RowCache) || cache.source !== t.data)
    return { shape, data: denseRows(t, idx, start, end) }
  const pick = new Int32Array(end - start)
  for (let k = start; k < end; k++) pick[k - start] = idx[k]
  let g: Gathered
  if (cache.defer(pick)) {
    let nnz = -1
    let held = -1
    g = {
      cache,
      pick,
      get nnz() {
        if (nnz < 0) nnz = cache.admit(pick) ? countOf(cache, pick) : Infinity
        return nnz
      },
      get unread() {
        return nnz < 0
      },
      get nonZeros() {
        return nnz < 0 && held >= 0 ? held : this.nnz
      },
      // a method: tsx names each arrow a property binds as it is made (valueAndGrad.ts' Walk)
      counted(c) {
        held = c
      },
    }
  } else if (cache.admit(pick)) {
    const nnz = countOf(cache, pick)
    const ahead = cache.prefetch?.post(pick, nnz) ?? 0
    const read: Ahead = { cache, pick, nnz, unread: false, nonZeros: nnz, counted, ahead, staged }
    g = read
  } else return { shape, data: denseRows(t, idx, start, end) }
  // one getter shared by every batch (src/tensor/lazyData.ts): a getter closure per batch gave
  // each batch its own hidden class, made in the old generation (W3 built: 16–18 → 9–10 full
  // collections a run)
  const length = shape.reduce((a, b) => a * b, 1)
  const batch = lazyTensor(
    shape,
    lazyData(length, () => denseRows(t, pick, 0, pick.length)),
  )
  gathered.set(batch as Tensor, g)
  return batch as Tensor
}

/** The entries of the rows `pick` in the cache. */
function countOf(cache: RowCache, pick: Int32Array): number {
  let nnz = 0
  const { rowAt } = cache
  for (let i = 0; i < pick.length; i++) nnz += rowAt[2 * pick[i] + 1]
  return nnz
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

/**
 * xᵀ·δ as the wasm kernel computes it (gemmCsr over x's columns, each compressed with its rows
 * in order): entry (i, j) is ((0 + x₀ᵢ·δ₀ⱼ) + x₁ᵢ·δ₁ⱼ) + … over the rows r where xᵣᵢ ≠ 0, each
 * product rounded, then each sum (SIMD lanes are independent, no fused multiply-add). Skipping
 * a zero xᵣᵢ leaves such a sum as it is for a finite δ (the caller's δ1 is: checked in wasm),
 * so these are the kernel's bits.
 */
export function xTransposeDelta(
  source: Float64Array,
  pick: Int32Array,
  d: number,
  D: Float64Array,
  h: number,
): Float64Array {
  const g = new Float64Array(d * h)
  for (let r = 0; r < pick.length; r++) {
    const o = pick[r] * d
    const dr = r * h
    for (let i = 0; i < d; i++) {
      const v = source[o + i]
      if (v === 0) continue
      const gi = i * h
      for (let j = 0; j < h; j++) g[gi + j] += v * D[dr + j]
    }
  }
  return g
}
