/**
 * Chooses the kernel for one product: WebAssembly SIMD or JavaScript (the backend), sparse or
 * dense (by the left operand's share of zeros), and splits very large products into chunks.
 */
import {
  buildCsr,
  gemmDenseJs,
  gemmSparseJs,
  gemmSparseTJs,
  SPARSE_MAX_DENSITY,
  type Csr,
} from './jsKernels.js'
import {
  afterHold,
  dropResident,
  gemmDenseWasm,
  gemmHeldWasm,
  gemmSparseWasm,
  heldNow,
  holdBytes,
  holdSparse,
  holdSparseRows,
  loadWasm,
  placeResident,
  releaseSparse,
  type ByteRows,
  type HeldSparse,
  type RowEntries,
  type StagedRows,
} from './wasmKernels.js'

/** Which implementation runs the matrix-product kernels. */
export type KernelBackend = 'js' | 'wasm'

/** `'auto'` finds the zeros itself; `'always'`/`'never'` force the sparse/dense kernel. */
export type SparseMode = 'auto' | 'always' | 'never'

/** The backend asked for: `GRADSTREAM_KERNELS=js|wasm|auto` in the environment, else auto. */
export const kernelState: { requested: KernelBackend | 'auto'; resolved: KernelBackend | null } = {
  requested: fromEnvironment(),
  resolved: null,
}

function fromEnvironment(): KernelBackend | 'auto' {
  const env = typeof process === 'undefined' ? undefined : process.env?.GRADSTREAM_KERNELS
  return env === 'js' || env === 'wasm' ? env : 'auto'
}

/** The backend in force: js when asked or when WebAssembly SIMD cannot load, else wasm. */
export function resolvedBackend(): KernelBackend {
  if (kernelState.resolved === null) {
    kernelState.resolved = kernelState.requested !== 'js' && loadWasm() ? 'wasm' : 'js'
  }
  return kernelState.resolved
}

/**
 * Products with fewer multiply-adds than this stay in JavaScript even on the wasm backend:
 * copying the operands in and the result out costs more than the SIMD gains. Measured with
 * bench/kernels.bench.ts (see bench/RESULTS.md).
 */
export const WASM_MIN_WORK = 4096

/**
 * The hook for products split across threads (src/parallel's `setKernelThreads(2)` installs it;
 * `run` is null otherwise): on the wasm backend, a product of at least `minWork` multiply-adds
 * that needs no chunking goes to `run` first, with this function's own sparse decision
 * (`trySparse`, `maxNnz`, and `finiteB`: sparse only while B is finite). `run` computes the same
 * bits as the kernels below (the same wasm kernels, rows split between threads) or returns false
 * to leave the product to them. `hold`, set with `run`, holds a left operand (`holdLeft`,
 * `holdGathered`) in the memory the threads share, so that its products split too (null from it:
 * held as on one thread).
 */
export const largeProducts: {
  minWork: number
  run:
    | ((
        A: Float64Array,
        B: Float64Array,
        C: Float64Array,
        m: number,
        k: number,
        n: number,
        transA: boolean,
        transB: boolean,
        trySparse: boolean,
        maxNnz: number,
        finiteB: boolean,
      ) => boolean)
    | null
  hold: SplitHold | null
} = { minWork: Infinity, run: null, hold: null }

/** `holdSparse` and `holdSparseRows` (wasmKernels.ts) on the threads of `largeProducts.run`. */
export interface SplitHold {
  dense(A: Float64Array, rows: number, cols: number, maxNnz: number): HeldSparse | null
  rows(src: RowEntries, pick: Int32Array, cols: number, nnz: number): HeldSparse | null
}

/** Left operands above this many elements are processed in chunks on the wasm backend. */
export const CHUNK = 1 << 21

const jsCsr: Csr = {
  rowPtr: new Int32Array(0),
  colIdx: new Int32Array(0),
  vals: new Float64Array(0),
}
let jsScratch = new Float64Array(0)

/**
 * Is `A` (its first `size` entries) sparse enough for the sparse kernels? A cheap look at up to
 * 256 evenly spaced entries first: at most SPARSE_MAX_DENSITY of them non-zero says yes, more
 * than 4/3 of it (a ReLU layer's output, about half zeros) no — the share among 256 samples
 * strays from the true one by ~0.03 (one standard deviation at 0.3), so either answer is a
 * mistake only for layers near the threshold, where both kernels cost about the same. In
 * between, the non-zeros are counted, stopping past the limit. A wrong yes costs most: the
 * sparse attempt copies B and compresses most of `A` before it fails. The stride is odd: an
 * even one that a power-of-two row length divides puts every sample in one column (a 128×128
 * layer: stride 256 took column 0 only, and one dead unit made a half-dense layer look sparse).
 */
export function looksSparse(A: Float64Array, size: number): boolean {
  const step = Math.max(1, Math.floor(size / 256)) | 1
  let seen = 0
  let nz = 0
  for (let q = 0; q < size; q += step, seen++) nz += A[q] !== 0 ? 1 : 0
  if (nz <= SPARSE_MAX_DENSITY * seen) return true
  if (3 * nz > 4 * SPARSE_MAX_DENSITY * seen) return false
  const max = Math.floor(SPARSE_MAX_DENSITY * size)
  let count = 0
  for (let q0 = 0; q0 < size; q0 += 4096) {
    const q1 = Math.min(size, q0 + 4096)
    for (let q = q0; q < q1; q++) count += A[q] !== 0 ? 1 : 0
    if (count > max) return false
  }
  return true
}

/**
 * True when every entry of `B` is finite. The automatic sparse path needs it: skipping a zero
 * of `A` drops `0·∞` or `0·NaN`, which the dense sum turns into NaN — so with a non-finite `B`
 * (diverged weights) the product goes dense and the NaN shows, as in NumPy. One read per entry
 * of `B`, small next to the product it guards. (`v − v` is NaN exactly for ±∞ and NaN.)
 */
export function allFinite(B: Float64Array): boolean {
  for (let i = 0; i < B.length; i++) {
    const v = B[i]
    if (v - v !== 0) return false
  }
  return true
}

/**
 * `C = op(A)·op(B)` (`op(A)` is `m×k`, `op(B)` is `k×n`; `A` stored `k×m` when `transA`, `B`
 * stored `n×k` when `transB`), overwriting `C`. With `sparse = 'auto'` the result is the dense
 * sum's bit for bit, NaN and ∞ included; a forced `'always'` skips zeros of `A` even when `B`
 * holds ∞ or NaN (see jsKernels.ts: a skipped `0·∞` or `0·NaN` then contributes nothing).
 */
export function gemmKernel(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  sparse: SparseMode = 'auto',
): void {
  if (m === 0 || n === 0) return
  if (k === 0) {
    C.fill(0, 0, m * n)
    return
  }
  const size = m * k
  // 'auto' also needs a finite B (see allFinite): the wasm kernels check it on their copy of B,
  // the JavaScript path below with allFinite
  const auto = sparse === 'auto'
  const trySparse = sparse === 'always' || (auto && n >= 4 && size >= 256 && looksSparse(A, size))
  const maxNnz = sparse === 'always' ? size : Math.floor(SPARSE_MAX_DENSITY * size)
  const work = size * n
  if (resolvedBackend() === 'wasm' && work >= WASM_MIN_WORK) {
    if (size > CHUNK) return chunked(A, B, C, m, k, n, transA, transB, sparse)
    if (work >= largeProducts.minWork && largeProducts.run !== null) {
      if (largeProducts.run(A, B, C, m, k, n, transA, transB, trySparse, maxNnz, auto)) return
    }
    try {
      if (trySparse && gemmSparseWasm(A, B, C, m, k, n, transA, transB, maxNnz, auto)) return
      gemmDenseWasm(A, B, C, m, k, n, transA, transB)
      return
    } catch (e) {
      // linear memory could not grow (a right operand of gigabytes): the JavaScript kernels
      // work on the arrays in place
      if (!(e instanceof RangeError)) throw e
    }
  }
  if (trySparse && (!auto || allFinite(B)) && sparseJs(A, B, C, m, k, n, transA, transB, maxNnz))
    return
  gemmDenseJs(A, B, C, m, k, n, transA, transB)
}

/**
 * Splits a product whose left operand exceeds CHUNK elements: by rows of `C` when `A` is stored
 * `m×k`, or by the shared dimension (summing partial products) when stored `k×m`. The partial
 * sums change the order of additions, within rounding of the single sum.
 */
function chunked(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  sparse: SparseMode,
): void {
  if (!transA) {
    const rows = Math.max(1, Math.floor(CHUNK / k))
    for (let i0 = 0; i0 < m; i0 += rows) {
      const i1 = Math.min(m, i0 + rows)
      const a = A.subarray(i0 * k, i1 * k)
      gemmKernel(a, B, C.subarray(i0 * n, i1 * n), i1 - i0, k, n, false, transB, sparse)
    }
    return
  }
  // op(B)'s rows p0…p1 must be contiguous: transpose a stored n×k B once.
  let Bn = B
  if (transB) {
    Bn = new Float64Array(k * n)
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) Bn[p * n + j] = B[j * k + p]
  }
  const rows = Math.max(1, Math.floor(CHUNK / m))
  const part = new Float64Array(m * n)
  C.fill(0, 0, m * n)
  for (let p0 = 0; p0 < k; p0 += rows) {
    const p1 = Math.min(k, p0 + rows)
    const a = A.subarray(p0 * m, p1 * m)
    gemmKernel(a, Bn.subarray(p0 * n, p1 * n), part, m, p1 - p0, n, true, false, sparse)
    for (let q = 0; q < m * n; q++) C[q] += part[q]
  }
}

/** The JavaScript sparse path, on module-level scratch buffers reused across calls. */
function sparseJs(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  maxNnz: number,
): boolean {
  const rows = transA ? k : m
  const cols = transA ? m : k
  if (jsCsr.rowPtr.length < rows + 1) jsCsr.rowPtr = new Int32Array(rows + 1)
  if (jsCsr.vals.length < maxNnz + cols) {
    jsCsr.colIdx = new Int32Array(maxNnz + cols)
    jsCsr.vals = new Float64Array(maxNnz + cols)
  }
  if (buildCsr(A, rows, cols, maxNnz, jsCsr) < 0) return false
  let Bn = B
  if (transB) {
    if (jsScratch.length < k * n) jsScratch = new Float64Array(k * n)
    Bn = jsScratch
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) Bn[p * n + j] = B[j * k + p]
  }
  if (transA) gemmSparseTJs(jsCsr, Bn, C, m, k, n)
  else gemmSparseJs(jsCsr, Bn, C, m, n)
  return true
}

/**
 * Holds `A` (m×k) compressed in wasm memory for several products when `gemmKernel` would take
 * the wasm sparse path for it (wasm backend, small enough not to chunk, sampled and counted
 * sparse); else null, and the caller multiplies with `gemmKernel`. End with `releaseHeld`.
 */
export function holdLeft(
  A: Float64Array,
  m: number,
  k: number,
  transpose = true,
): HeldSparse | null {
  try {
    return holdDense(A, m, k, transpose)
  } finally {
    heldNowRun()
  }
}

function holdDense(A: Float64Array, m: number, k: number, transpose: boolean): HeldSparse | null {
  const size = m * k
  if (resolvedBackend() !== 'wasm' || size < 256 || size > CHUNK || !looksSparse(A, size))
    return null
  const maxNnz = Math.floor(SPARSE_MAX_DENSITY * size)
  try {
    return (
      largeProducts.hold?.dense(A, m, k, maxNnz) ?? holdSparse(A, m, k, maxNnz, null, transpose)
    )
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
    return null
  }
}

/**
 * A batch drawn as compressed rows, as gatheredRows.ts's `Gathered` describes it (spelled out
 * here by what is read: that file imports this one, and the import graph has no circles).
 */
interface GatheredRows {
  readonly cache: RowEntries & { readonly bytes: ByteRows | null; giveUp(): void }
  readonly pick: Int32Array
  readonly nnz: number
  readonly unread: boolean
  counted(nnz: number): void
  /** the batch's CSRs made ahead, if they are ready (else null: gathered here) */
  staged?(): StagedRows | null
}

/**
 * `holdLeft` for a batch drawn as compressed rows (gatheredRows.ts): its rows' entries are
 * gathered into wasm memory, with no dense copy, when `gemmKernel` would take the wasm sparse
 * path for the dense batch (wasm backend, small enough not to chunk, counted sparse — exactly,
 * where `holdLeft` first samples); else null. An unread batch's rows (RowCache.defer) are
 * compressed straight from the data set into wasm memory, read once (as `holdLeft` compresses
 * a dense operand: the same entries), from its bytes where the data set has them (`keepBytes`:
 * an eighth of the memory read), unless `largeProducts.hold` holds it. On the memory a
 * two-thread step shares, numbers are compressed in the kernels' own memory and only the entries
 * copied over (holdSparse), bytes compressed there: the one-thread work, the batch left unread
 * alike. The columns' CSR is made where a product reads it.
 */
export function holdGathered(g: GatheredRows): HeldSparse | null {
  try {
    return holdRows(g)
  } finally {
    heldNowRun()
  }
}

/** Runs `afterHold` (wasmKernels.ts) once, if set. */
function heldNowRun(): void {
  const run = afterHold.run
  afterHold.run = null
  run?.()
}

function holdRows(g: GatheredRows): HeldSparse | null {
  const size = g.pick.length * g.cache.cols
  if (resolvedBackend() !== 'wasm' || size < 256 || size > CHUNK) return null
  const maxNnz = Math.floor(SPARSE_MAX_DENSITY * size)
  if (g.unread && largeProducts.hold === null) {
    const { cache, pick } = g
    try {
      const h =
        cache.bytes !== null
          ? holdBytes(cache.bytes, pick, maxNnz)
          : holdSparse(cache.source, pick.length, cache.cols, maxNnz, pick, false)
      // null with nothing else held: more non-zeros than maxNnz
      if (h === null && !heldNow()) cache.giveUp()
      if (h?.nnz !== undefined) g.counted(h.nnz)
      return h
    } catch (e) {
      if (!(e instanceof RangeError)) throw e
      return null
    }
  }
  if (g.nnz > maxNnz) return null
  try {
    const { cache, pick, nnz } = g
    return (
      largeProducts.hold?.rows(cache, pick, cache.cols, nnz) ??
      holdSparseRows(cache, pick, cache.cols, nnz, g.staged?.() ?? null)
    )
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
    return null
  }
}

/**
 * `C = A·op(B)` or `Aᵀ·op(B)` for a held `A`, exactly as `gemmKernel` would compute it (the
 * same sparse kernel on the same compressed rows); products `gemmKernel` would not send to
 * the wasm sparse kernel (too little work, n < 4, a non-finite `B`) and memory that cannot grow
 * go to it (`A` gives the dense A for that: a gathered batch is built only then).
 */
export function gemmHeld(
  h: HeldSparse,
  A: () => Float64Array,
  B: Float64Array,
  C: Float64Array,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  const m = transA ? h.cols : h.rows
  const k = transA ? h.rows : h.cols
  if (n >= 4 && m * k * n >= WASM_MIN_WORK && m > 0 && n > 0) {
    try {
      // false: B holds ±∞ or NaN, and gemmKernel takes the dense path for it
      if (
        h.split !== undefined
          ? h.split.product(B, C, n, transA, transB, true)
          : gemmHeldWasm(h, B, C, n, transA, transB, true)
      )
        return
    } catch (e) {
      if (!(e instanceof RangeError)) throw e
    }
  }
  gemmKernel(A(), B, C, m, k, n, transA, transB)
}

/**
 * Runs `fn` with `B` (k×n, row-major) placed once in wasm memory for the held products
 * (`gemmHeld`) it runs with this very array as their right operand, which then neither copy nor
 * check it again (wasmKernels.ts `placeResident`); on one thread's wasm kernels, else `fn` as
 * it is. For a synchronous run of many products with one right operand that does not change in
 * between (mlp's logits over a data set's blocks of rows). The same bits either way.
 */
export function withRightOperand<R>(B: Float64Array, k: number, n: number, fn: () => R): R {
  const placed =
    resolvedBackend() === 'wasm' && largeProducts.hold === null && placeResident(B, k, n)
  try {
    return fn()
  } finally {
    if (placed) dropResident()
  }
}

/** Ends a hold from `holdLeft` or `holdGathered`. */
export function releaseHeld(h: HeldSparse): void {
  if (h.split !== undefined) h.split.release()
  else releaseSparse(h)
}
