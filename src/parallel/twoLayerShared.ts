/**
 * The two-layer step of `twoLayerGradient` (src/nn) on two threads: the same kernels as
 * wasmKernels.ts's `twoLayerForwardWasm` / `twoLayerBackwardWasm`, run on the shared instance
 * (sharedKernels.ts) with the heavy ones split between the caller and the helper:
 *
 * - forward: the caller copies the helper's half of x's rows into shared memory and posts it;
 *   each thread compresses its half (the caller a cache-sized block at a time, as it copies),
 *   multiplies it by W1 (gemmCsr) and applies σ(· + b1) (sigmoidBias) to its rows of z1;
 *   a2 = z1·W2 + b2 is small and runs on the caller; a batch drawn as compressed rows
 *   (src/tensor/gatheredRows.ts) is not copied or compressed: the caller gathers the helper's
 *   rows of its CSR into shared memory, posts them, then gathers its own;
 * - the two compressed halves are joined into the one CSR a single csrRows would have made,
 *   and the helper transposes it (csrTranspose) while the caller computes the loss and δ2 in
 *   JavaScript;
 * - backward: δ1 and the small products on the caller; ∂W1 = xᵀ·δ1 by output rows (pixels), cut
 *   where half the work (non-zeros + rows) is done.
 *
 * Every row of every result is computed by the same kernel code on the same entries in the
 * same order as on one thread, so the step's result equals the single-thread one bit for bit.
 * Which batches take this path is decided exactly as `holdLeft` decides (gemmKernel.ts).
 */
import {
  CHUNK, // larger left operands are not held (and not taken here)
  looksSparse, // the same sample and threshold as the one-thread path
  resolvedBackend,
} from '../tensor/kernels/gemmKernel.js'
import { SPARSE_MAX_DENSITY } from '../tensor/kernels/jsKernels.js'
import type { Gathered } from '../tensor/gatheredRows.js'
import { align16, backwardToDelta1, gatherRows } from '../tensor/kernels/wasmKernels.js'
import { noteCopiedOut } from '../tensor/kernels/sumOfSquaresKernel.js'
import {
  helperDone,
  join,
  OP_CSR,
  OP_LAYER_ROWS,
  OP_TRANSPOSE,
  post,
  RESULT,
  sharedViews,
  SPIN_AFTER,
  wantedHelper,
  workCutRow,
  type Helper,
} from './sharedKernels.js'

/** Steps that took the two-thread path (tests check they did). */
export const sharedStats = { steps: 0 }

/**
 * Polls the helper makes after each of a step's jobs before it sleeps (about 5–10 ns each): a
 * training loop posts the next within a few hundred microseconds (the loss in JavaScript, then
 * the update and the next batch), and a futex wake costs 15 µs on an idle VM, far more on a
 * busy one. Only while two threads are asked for, which is worth it only with a core to spare.
 */
export const layerTuning = { spinAfter: 100_000 }

/**
 * The helper's shares of a step's split work: of the batch rows in the forward pass, and of ∂W1's
 * work (non-zeros + rows) in the backward. After each step each moves one percentage point toward
 * the thread that finished last (up when the helper was done before the caller joined it, down
 * otherwise), within [0.2, 0.8]: the caller also copies W1 and x into shared memory and ∂W1 out of
 * it, and the second vCPU of a shared machine is not always a whole core, so even splits leave one
 * of them waiting. Any split gives the same bits.
 */
export const layerSplit = { forward: 0.5, backward: 0.5, adapt: true }

/** `share` moved one point toward the thread that finished last, within [0.2, 0.8]. */
const adapted = (share: number, h: Helper): number =>
  Math.min(0.8, Math.max(0.2, share + (helperDone(h) ? 0.01 : -0.01)))

interface Step {
  readonly h: Helper
  readonly n: number
  readonly d: number
  readonly hid: number
  readonly k: number
  readonly trp: number
  readonly tci: number
  readonly tv: number
  readonly w2t: number
  readonly z: number
  readonly y: number
  readonly d1: number
  readonly g1: number
  readonly g2: number
  readonly gb1: number
  readonly gb2: number
  /** the helper is transposing x's CSR (joined before the backward product, or by `endShared`) */
  pending: boolean
}

let step: Step | null = null

/**
 * The forward pass on two threads (see the module comment): a2 into `Y` (n×k). Returns false,
 * computing nothing the caller sees, when the helper is not running, the batch would not be
 * held (`holdLeft`'s rules: the wasm backend, 256 ≤ n·d ≤ 2²¹, looks sparse, at most 30%
 * non-zero), W1 holds ±∞ or NaN, or the shared memory cannot grow: the caller then takes the
 * single-thread path. After true, `twoLayerBackwardShared` (or `endShared`) must follow.
 */
export function twoLayerForwardShared(
  X: Float64Array | Gathered,
  n: number,
  d: number,
  W1: Float64Array,
  b1: Float64Array,
  W2: Float64Array,
  b2: Float64Array,
  hid: number,
  k: number,
  Y: Float64Array,
): boolean {
  // a helper closed by closeWorkers starts again, as for the split products (runLarge)
  const h = wantedHelper()
  const size = n * d
  if (h === null || n < 2 || resolvedBackend() !== 'wasm' || size < 256 || size > CHUNK) {
    return false
  }
  const maxNnz = Math.floor(SPARSE_MAX_DENSITY * size)
  // a batch of compressed rows is taken when it has few enough non-zeros (holdGathered's rule)
  const rows = X instanceof Float64Array ? null : X
  if (rows === null ? !looksSparse(X as Float64Array, size) : rows.nnz > maxNnz) return false
  endShared()
  const i0 = Math.min(n - 1, Math.max(1, Math.round(n * (1 - layerSplit.forward))))
  const ciBytes = align16((maxNnz + d) * 4)
  const vBytes = align16((maxNnz + d) * 8)
  let at = 0
  const take = (bytes: number): number => {
    const o = at
    at += align16(bytes)
    return o
  }
  const xa = take(rows === null ? size * 8 : 0)
  const rp = take((n + 1) * 4)
  const rp2 = take((n - i0 + 1) * 4)
  const ci = take(ciBytes)
  const v = take(vBytes)
  // the helper's own compressed half (dense x only: gathered rows are one CSR from the start)
  const ci2 = take(rows === null ? ciBytes : 0)
  const v2 = take(rows === null ? vBytes : 0)
  const trp = take((d + 1) * 4)
  const tci = take(ciBytes)
  const tv = take(vBytes)
  const w1 = take(d * hid * 8)
  const b1o = take(hid * 8)
  const w2 = take(hid * k * 8)
  const w2t = take(hid * k * 8)
  const b2o = take(k * 8)
  const z = take(n * hid * 8)
  const y = take(n * k * 8)
  const d1 = take(n * hid * 8)
  const g1 = take(d * hid * 8)
  const g2 = take(hid * k * 8)
  const gb1 = take(hid * 8)
  const gb2 = take(k * 8)
  let views
  try {
    views = sharedViews(h, at)
  } catch (e) {
    if (e instanceof RangeError) return false // the memory could not grow
    throw e
  }
  const { k: w, f64, i32, base } = views
  const B = (o: number): number => base + o
  f64.set(W1.length === d * hid ? W1 : W1.subarray(0, d * hid), B(w1) >> 3)
  if (w.allFinite(B(w1), d * hid) === 0) return false
  f64.set(b1.subarray(0, hid), B(b1o) >> 3)
  h.ctrl[SPIN_AFTER] = layerTuning.spinAfter
  let nnz1 = 0
  if (rows !== null) {
    // compressed rows: the helper's rows of the batch's CSR are gathered first (after the
    // caller's count of entries), so it starts on them while the caller gathers its own
    for (let i = 0; i < i0; i++) nnz1 += rows.cache.count[rows.pick[i]]
    gatherRows(w, i32, f64, rows.cache, rows.pick, B(rp), B(ci), B(v), i0, n, nnz1)
    post(h, OP_LAYER_ROWS, [
      0,
      n - i0,
      d,
      -1,
      B(rp) + 4 * i0,
      B(ci),
      B(v),
      B(w1),
      B(z) + i0 * hid * 8,
      hid,
      B(b1o),
    ])
    gatherRows(w, i32, f64, rows.cache, rows.pick, B(rp), B(ci), B(v), 0, i0, 0)
    w.gemmCsr(B(rp), B(ci), B(v), B(w1), B(z), i0, hid)
    w.sigmoidBias(B(z), B(b1o), i0, hid)
  } else {
    const Xd = X as Float64Array
    // the helper's half of x first, so it starts while the caller copies its own
    f64.set(Xd.subarray(i0 * d, size), (B(xa) >> 3) + i0 * d)
    post(h, OP_LAYER_ROWS, [
      B(xa) + i0 * d * 8,
      n - i0,
      d,
      maxNnz,
      B(rp2),
      B(ci2),
      B(v2),
      B(w1),
      B(z) + i0 * hid * 8,
      hid,
      B(b1o),
    ])
    // this thread's half a cache-sized block at a time (as wasmKernels.ts's compressRows): the
    // same entries in the same order as csrRows over the half
    const blockRows = Math.max(1, Math.floor(65536 / (d * 8)))
    i32[B(rp) >> 2] = 0
    for (let r0 = 0; r0 < i0 && nnz1 >= 0; r0 += blockRows) {
      const r1 = Math.min(i0, r0 + blockRows)
      f64.set(Xd.subarray(r0 * d, r1 * d), B(xa) >> 3)
      nnz1 = w.csrRowsFrom(B(xa), r1 - r0, d, maxNnz, B(rp) + 4 * r0, B(ci), B(v))
    }
    if (nnz1 >= 0) {
      w.gemmCsr(B(rp), B(ci), B(v), B(w1), B(z), i0, hid)
      w.sigmoidBias(B(z), B(b1o), i0, hid)
    }
  }
  f64.set(W2.length === hid * k ? W2 : W2.subarray(0, hid * k), B(w2) >> 3)
  f64.set(b2.subarray(0, k), B(b2o) >> 3)
  if (layerSplit.adapt) layerSplit.forward = adapted(layerSplit.forward, h)
  join(h)
  // the helper's count of its rows' entries (0 for gathered rows: counted above)
  const nnz2 = h.ctrl[RESULT]
  if (nnz1 < 0 || nnz2 < 0 || nnz1 + nnz2 > maxNnz) {
    h.ctrl[SPIN_AFTER] = 0
    return false
  }
  w.gemm(B(z), B(w2), B(y), n, hid, k, hid, 1)
  w.addRowBias(B(y), B(b2o), n, k)
  Y.set(f64.subarray(B(y) >> 3, (B(y) >> 3) + n * k))
  // one CSR, as csrRows over all rows makes it: the second half's entries after the first's
  if (rows === null) {
    const c2 = B(ci2) >> 2
    i32.copyWithin((B(ci) >> 2) + nnz1, c2, c2 + nnz2)
    const v2o = B(v2) >> 3
    f64.copyWithin((B(v) >> 3) + nnz1, v2o, v2o + nnz2)
    const r = B(rp) >> 2
    const r2 = B(rp2) >> 2
    for (let i = 1; i <= n - i0; i++) i32[r + i0 + i] = i32[r2 + i] + nnz1
  }
  post(h, OP_TRANSPOSE, [B(rp), B(ci), B(v), n, d, B(trp), B(tci), B(tv)])
  step = {
    h,
    n,
    d,
    hid,
    k,
    trp: B(trp),
    tci: B(tci),
    tv: B(tv),
    w2t: B(w2t),
    z: B(z),
    y: B(y),
    d1: B(d1),
    g1: B(g1),
    g2: B(g2),
    gb1: B(gb1),
    gb2: B(gb2),
    pending: true,
  }
  sharedStats.steps++
  return true
}

/** Waits for a step's pending transpose and forgets the step (safe to call at any time). */
export function endShared(): void {
  const s = step
  step = null
  if (s !== null && s.pending) {
    s.pending = false
    join(s.h)
  }
}

/**
 * The backward pass after `twoLayerForwardShared`, from δ2 (`dY`, n×k), with
 * `twoLayerBackwardWasm`'s contract: ∂W2 into `G2`, ∂b2 into `gb2`, ∂b1 into `gb1`, and ∂W1 into
 * `G1` — true; or, when δ1 holds ±∞ or NaN, δ1 into `D1` and false. Ends the step.
 */
export function twoLayerBackwardShared(
  W2: Float64Array,
  dY: Float64Array,
  G1: Float64Array,
  G2: Float64Array,
  gb1: Float64Array,
  gb2: Float64Array,
  D1: Float64Array,
): boolean {
  const s = step
  if (s === null) throw new Error('twoLayerBackwardShared: no forward')
  try {
    const { h, n, d, hid, k } = s
    const { k: w, f64, i32 } = sharedViews(h, 0)
    if (!backwardToDelta1(w, f64, s, n, hid, k, W2, dY, G2, gb1, gb2, D1)) return false
    s.pending = false
    join(h)
    // ∂W1's rows (pixels) cut where the helper's share of the work (non-zeros + rows) is left;
    // this thread copies its rows out while the helper finishes its own
    const c0 = workCutRow(i32, s.trp, d, 1 - layerSplit.backward)
    if (c0 < d)
      post(h, OP_CSR, [s.trp + c0 * 4, s.tci, s.tv, s.d1, s.g1 + c0 * hid * 8, d - c0, hid])
    w.gemmCsr(s.trp, s.tci, s.tv, s.d1, s.g1, c0, hid)
    const g1 = s.g1 >> 3
    G1.set(f64.subarray(g1, g1 + c0 * hid))
    if (c0 < d) {
      if (layerSplit.adapt) layerSplit.backward = adapted(layerSplit.backward, h)
      join(h)
      G1.set(f64.subarray(g1 + c0 * hid, g1 + d * hid), c0 * hid)
    }
    // each gradient's Σx² while in cache, if a writer of gradNorm runs (sumOfSquaresKernel.ts)
    noteCopiedOut(s.h.memory, [G1, s.g1], [G2, s.g2], [gb1, s.gb1], [gb2, s.gb2])
    return true
  } finally {
    endShared()
    // read by the helper when each job started: other products' jobs do not spin on
    s.h.ctrl[SPIN_AFTER] = 0
  }
}
