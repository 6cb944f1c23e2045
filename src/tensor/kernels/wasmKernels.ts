/**
 * Loads the WebAssembly SIMD kernels (compiled from assembly/gemm.ts, embedded in wasmBinary.ts)
 * and runs them on copies of the operands laid out in the module's linear memory.
 *
 * The module is compiled synchronously on first use (it is ~2 KB, well under the browsers'
 * main-thread limit); if compiling fails — no WebAssembly, or no SIMD — `loadWasm` returns null
 * and the JavaScript kernels serve. Memory page 0 belongs to the module; operands are laid out
 * from byte 65,536 on, and the memory grows (never shrinks) to the largest product seen. Callers
 * chunk very large products (see gemmKernel.ts) so that stays bounded.
 */
import { WASM_BASE64 } from './wasmBinary.js'
import { wasmBytes } from './wasmBytes.js'
import { noteCopiedOut } from './sumOfSquaresKernel.js'

/** The kernels module's exports (src/parallel instantiates the same module over a shared memory). */
export interface KernelExports {
  readonly memory: WebAssembly.Memory
  gemm(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    sai: number,
    sap: number,
  ): void
  packB(b: number, k: number, n: number, sbp: number, sbj: number, pk: number): void
  packA(a: number, m: number, k: number, sai: number, sap: number, pa: number): void
  gemmPacked(
    a: number,
    pka: number,
    pk: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    sai: number,
    sap: number,
    sbp: number,
    sbj: number,
  ): void
  gemmCsr(
    rowPtr: number,
    colIdx: number,
    vals: number,
    b: number,
    c: number,
    m: number,
    n: number,
  ): void
  csrOffsets(idx: number, off: number, nnz: number, rowBytes: number): void
  gemmCsrOff(
    rowPtr: number,
    off: number,
    vals: number,
    b: number,
    c: number,
    m: number,
    n: number,
  ): void
  gemmCsrLd(
    rowPtr: number,
    colIdx: number,
    vals: number,
    b: number,
    c: number,
    m: number,
    n: number,
    ldb: number,
  ): void
  gemmCsrLdc(
    rowPtr: number,
    colIdx: number,
    vals: number,
    b: number,
    c: number,
    m: number,
    n: number,
    ldb: number,
    ldc: number,
  ): void
  gemmCsrPairs(
    rowPtr: number,
    colIdx: number,
    vals: number,
    b: number,
    c: number,
    m: number,
    n: number,
    ldb: number,
  ): void
  padRows(at: number, k: number, n: number, ldb: number): void
  padRowsFrom(from: number, at: number, k: number, n: number, ldb: number): number
  csrPairs(
    rowPtr: number,
    colIdx: number,
    vals: number,
    rows: number,
    pRowPtr: number,
    pColIdx: number,
    pVals: number,
  ): void
  csrPairsRows(
    rowPtr: number,
    colIdx: number,
    vals: number,
    rows: number,
    cols: number,
    pRowPtr: number,
    pColIdx: number,
    pVals: number,
  ): void
  csrRowsBytes(
    a: number,
    m: number,
    k: number,
    maxNnz: number,
    rowPtr: number,
    colIdx: number,
    vals: number,
    mul: number,
    div: number,
    table: number,
  ): number
  csrRows(
    a: number,
    m: number,
    k: number,
    maxNnz: number,
    rowPtr: number,
    colIdx: number,
    vals: number,
  ): number
  csrRowsFrom(
    a: number,
    m: number,
    k: number,
    maxNnz: number,
    rowPtr: number,
    colIdx: number,
    vals: number,
  ): number
  csrCols(
    a: number,
    m: number,
    k: number,
    maxNnz: number,
    rowPtr: number,
    colIdx: number,
    vals: number,
  ): number
  csrTranspose(
    rowPtr: number,
    colIdx: number,
    vals: number,
    rows: number,
    cols: number,
    tRowPtr: number,
    tColIdx: number,
    tVals: number,
  ): void
  allFinite(a: number, len: number): number
  csrPack(colIdx: number, vals: number, nnz: number, mul: number, div: number, out: number): number
  csrUnpack(colIdx: number, vals: number, nnz: number, mul: number, div: number): void
  expInto(x: number, out: number, len: number): void
  sigmoidBias(z: number, bias: number, n: number, h: number): void
  addScaled(x: number, y: number, a: number, out: number, len: number): void
  reluBias(z: number, bias: number, n: number, h: number): void
  activationBack(
    act: number,
    g: number,
    y: number,
    d: number,
    n: number,
    m: number,
    sums: number,
  ): void
}

let wasm: KernelExports | null | undefined
/** This module's own instance (over its own memory), once loaded: `wasm` unless `useKernels`. */
let own: KernelExports | null | undefined
let f64 = new Float64Array(0)
let i32 = new Int32Array(0)
let u8 = new Uint8Array(0)
const BASE = 65536
/**
 * The bottom of what kernels lay out: BASE, or past the tape's arena while one is open
 * (`openArena`). Where a product lays out its operands: `base`, or past a held sparse operand
 * (holdSparse).
 */
let base = BASE
let floor = BASE
/**
 * The bottom of all layouts, the arena's included: BASE, or past a right operand placed for many
 * products (`placeResident`).
 */
let bottom = BASE
/** The right operand `placeResident` placed at BASE, or null. */
let resident: {
  readonly B: Float64Array
  readonly k: number
  readonly n: number
  readonly finite: boolean
} | null = null
/** Held products that read `resident` where it lies (tests read it). */
export const residentStats = { uses: 0 }
/** True while an arena is open: its views must stay attached, so memory must not grow. */
let pinned = false
/** The most bytes laid out above `base` since `scratchPeak` last read it. */
let peak = 0

/** The instantiated kernels, or null when this platform cannot run them (tried once). */
export function loadWasm(): KernelExports | null {
  if (wasm !== undefined) return wasm
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes(WASM_BASE64)), {})
    wasm = instance.exports as unknown as KernelExports
  } catch {
    wasm = null
  }
  own = wasm
  return wasm
}

/**
 * Runs every kernel of this file on `k` — the same module instantiated over another memory
 * (src/parallel's, shared with a helper thread, whose row kernels split C's rows with it) —
 * until `useKernels(null)` puts this module's own instance back. Layouts, holds and the tape's
 * arena then lie in that memory, so a step's operands are where both threads read them. Only
 * between a step's uses of memory: returns false, switching nothing, while an operand is held
 * or an arena is open (or when this module cannot load).
 */
export function useKernels(k: KernelExports | null): boolean {
  if (loadWasm() === null || pinned || floor !== base || bottom !== BASE) return false
  wasm = k ?? own
  layouts++ // another memory: no twin holds in it
  base = floor = BASE
  peak = 0
  f64 = new Float64Array(wasm!.memory.buffer)
  i32 = new Int32Array(wasm!.memory.buffer)
  u8 = new Uint8Array(wasm!.memory.buffer)
  return true
}

/**
 * Makes linear memory hold `bytes` from BASE on and refreshes the typed views after growth; a new
 * layout (twins no longer hold) unless the caller writes only above them (`overwrites` false).
 * The caller writes from byte `from` up (an unhomed sum there goes home first). While an arena
 * is open, growing would detach its views: a RangeError instead (the callers' "memory could not
 * grow", after which the JavaScript kernels serve).
 */
function reserve(w: KernelExports, bytes: number, overwrites = true, from = floor): void {
  if (overwrites) layouts++
  if (unhomed !== null && w === own) flushUnhomedOver(w.memory.buffer, from, BASE + bytes)
  if (w !== own) noteLayout(w.memory)
  const need = BASE + bytes
  if (need - base > peak) peak = need - base
  if (w !== own && need > ceilingOf(w.memory)) throw new RangeError('wasm memory: over its ceiling')
  const have = w.memory.buffer.byteLength
  if (need > have) {
    if (pinned) throw new RangeError('wasm memory: cannot grow while an arena is open')
    w.memory.grow(Math.ceil((need - have) / 65536))
  }
  if (f64.buffer !== w.memory.buffer) {
    f64 = new Float64Array(w.memory.buffer)
    i32 = new Int32Array(w.memory.buffer)
    u8 = new Uint8Array(w.memory.buffer)
  }
}

/**
 * Bytes of this module's own memory: as much as the layouts of the steps run on it so far have
 * needed (src/parallel sizes the memory a helper starts with by it).
 */
export function ownMemoryBytes(): number {
  return own?.memory.buffer.byteLength ?? 0
}

/** Views of this module's own memory while the kernels run on another (`ownScratch`). */
let ownF64 = new Float64Array(0)
let ownI32 = new Int32Array(0)

/**
 * This module's own memory, grown to hold `bytes` from BASE on, and views of it: scratch for
 * work that reads JavaScript memory while the kernels run on another memory (`useKernels`). Own
 * memory then lies idle (the switch happens only when nothing is laid out), and copies from
 * JavaScript memory into it are a memcpy, where a shared memory's go word by word.
 */
function ownScratch(bytes: number): { F: Float64Array; I: Int32Array } {
  const w = own!
  layouts++ // what own memory held is overwritten
  flushUnhomedOver(w.memory.buffer, BASE, BASE + bytes)
  const need = BASE + bytes
  const have = w.memory.buffer.byteLength
  if (need > have) w.memory.grow(Math.ceil((need - have) / 65536))
  if (ownF64.buffer !== w.memory.buffer) {
    ownF64 = new Float64Array(w.memory.buffer)
    ownI32 = new Int32Array(w.memory.buffer)
  }
  return { F: ownF64, I: ownI32 }
}

/**
 * Arrays whose numbers linear memory still holds (`twins`: the array and the byte offset of its
 * copy), valid while no kernel has laid out anything since (`layouts`, counted by `reserve`, is
 * `twinsAt`). A tape step leaves W1 (TapeMemory.placed) and ∂W1 (`keepViews`) so; the SGD
 * update that follows (`addScaledTwinWasm`) then reads them there instead of copying 2 × 313 KB
 * in again. Arrays are values (nobody writes into a parameter or a gradient once made), so the copies stay equal.
 */
let layouts = 0
let twinsAt = -1
const twins: { array: Float64Array | Numbers; at: number }[] = []

/** What stands for numbers no array holds yet (a lazy tensor's source): their count. */
type Numbers = { readonly length: number }

/**
 * Notes that `array` (or the lazy source standing for its numbers) and the `length` numbers at
 * byte `at` are equal, until the next layout.
 */
function twin(array: Float64Array | Numbers, at: number): void {
  if (twinsAt !== layouts) {
    twins.length = 0
    twinsAt = layouts
  }
  twins.push({ array, at })
}

/**
 * Layouts so far in each memory the kernels ran on other than this module's own (src/parallel's,
 * shared with the helper thread): `reserve` counts them there, and src/parallel counts its own
 * layouts in that memory (`noteLayout`). A kept token in such a memory (`keepViews`) stays valid
 * while its count stays: the switch back to own memory after a two-thread step does not touch it.
 */
const laidOutIn = new WeakMap<WebAssembly.Memory, number>()

/** Counts a layout in `memory` (not this module's own), which may overwrite what it kept. */
export function noteLayout(memory: WebAssembly.Memory): void {
  laidOutIn.set(memory, (laidOutIn.get(memory) ?? 0) + 1)
}

/**
 * The bytes the kernels may lay out in a memory other than their own, from 0: what lies above
 * belongs to someone else (an optimizer's pass in the memory shared with the helper thread,
 * src/engine/wasmPass.ts). A layout past it is a RangeError, the callers' "memory could not grow".
 */
const ceilings = new WeakMap<WebAssembly.Memory, number>()

/** Sets `memory`'s ceiling (see `ceilings`). */
export function setCeiling(memory: WebAssembly.Memory, bytes: number): void {
  ceilings.set(memory, bytes)
}

/** `memory`'s ceiling: Infinity where none is set. */
export const ceilingOf = (memory: WebAssembly.Memory): number => ceilings.get(memory) ?? Infinity

/**
 * More twins, of objects standing for numbers no array holds (a tape call's lazy gradients,
 * src/tensor/lazyData.ts): per token, `length` numbers at byte `at`, all valid while `layouts`
 * is `keptAt` — or, kept in another memory (`keptMemory`: the two threads' shared one), while
 * that memory's count of layouts (`laidOutIn`) is.
 */
const kept: { token: object; at: number; length: number }[] = []
let keptIn: KernelExports | null = null
let keptMemory: WebAssembly.Memory | null = null
let keptAt = -1

/** Where linear memory still holds the numbers `token` stands for, or null. */
function keptOf(token: object): { at: number; length: number } | null {
  let e = null
  for (const k of kept) if (k.token === token) e = k
  if (e === null) return null
  if (keptMemory !== null) return (laidOutIn.get(keptMemory) ?? 0) === keptAt ? e : null
  return keptAt === layouts && keptIn === wasm ? e : null
}

/**
 * Copies the numbers `token` stands for into `out` (its length) while linear memory still holds
 * them (no layout since the kernel left them) and returns true, else false.
 */
export function copyKept(token: object, out: Float64Array): boolean {
  const e = keptOf(token)
  if (e === null || out.length !== e.length) return false
  const m = keptMemory ?? wasm!.memory
  const from = keptMemory === null ? f64 : new Float64Array(m.buffer)
  out.set(from.subarray(e.at >> 3, (e.at >> 3) + out.length))
  noteCopiedOut(m, [out, e.at])
  return true
}

/**
 * Where memory still holds the numbers `token` stands for (see `copyKept`), as a view of them
 * (read it at once: the next layout there may overwrite them), or null.
 */
export function keptView(token: object): Float64Array | null {
  const e = keptOf(token)
  if (e === null) return null
  return new Float64Array((keptMemory ?? wasm!.memory).buffer, e.at, e.length)
}

/**
 * Leaves the numbers of each view (views of the kernels' linear memory: a tape call's arena, in
 * this module's own memory or, on a two-thread step, the one shared with the helper) standing
 * for its token (`copyKept`; `addScaledTwinWasm` in own memory) until the next layout in that
 * memory, in the place of any tokens before; false, leaving nothing, where one lies elsewhere.
 */
export function keepViews(views: readonly (readonly [object, Float64Array])[]): boolean {
  kept.length = 0
  const w = wasm
  if (!w || views.some(([, v]) => v.buffer !== w.memory.buffer)) return false
  keptIn = w
  keptMemory = w === own ? null : w.memory
  keptAt = w === own ? layouts : (laidOutIn.get(w.memory) ?? 0)
  for (const [token, v] of views) kept.push({ token, at: v.byteOffset, length: v.length })
  return true
}

/**
 * Notes that `view` (of this module's own linear memory) holds `array`'s numbers until the next
 * layout (`addScaledWasm`, `addScaledTwinWasm` read them there); false where it lies elsewhere.
 */
export function twinView(array: Float64Array | Numbers, view: Float64Array): boolean {
  const w = wasm
  if (!w || w !== own || view.buffer !== w.memory.buffer || array.length !== view.length) {
    return false
  }
  twin(array, view.byteOffset)
  return true
}

/** Whether `view` (of linear memory) holds only finite numbers (in wasm); false elsewhere. */
export function finiteView(view: Float64Array): boolean {
  const w = wasm
  if (!w || view.buffer !== w.memory.buffer) return false
  return w.allFinite(view.byteOffset, view.length) !== 0
}

/** The end of the numbers twins and the kept token still stand for (a byte offset), or 0. */
function twinsEnd(): number {
  let end = 0
  if (twinsAt === layouts) for (const t of twins) end = Math.max(end, t.at + t.array.length * 8)
  if (keptMemory === null && keptAt === layouts && keptIn === wasm) {
    for (const k of kept) end = Math.max(end, k.at + k.length * 8)
  }
  return align16(end)
}

/** Where linear memory holds `x`'s numbers (a byte offset), or −1. */
function twinOf(x: Float64Array | Numbers): number {
  if (twinsAt !== layouts) return -1
  for (const { array, at } of twins) {
    if (array === x) return at
    if (!(x instanceof Float64Array) || !(array instanceof Float64Array)) continue
    const d = x.byteOffset - array.byteOffset
    if (x.buffer === array.buffer && d >= 0 && d + x.byteLength <= array.byteLength) return at + d
  }
  return -1
}

/** `bytes` rounded up to a multiple of 16 (operands start on 16-byte boundaries). */
export const align16 = (bytes: number): number => (bytes + 15) & ~15

/** Bytes of a dense left operand copied into memory per block before it is compressed. */
const BLOCK_BYTES = 65536

/** Bytes of scratch `compressRows` needs for a rows×cols operand (one block of rows). */
export const blockBytes = (rows: number, cols: number): number =>
  align16(Math.min(rows, Math.max(1, Math.floor(BLOCK_BYTES / (cols * 8)))) * cols * 8)

/**
 * Compresses the rows of `A` (rows×cols, row-major, in JavaScript memory) into `rp` / `ci` /
 * `v` in a module's memory (`F` / `I` view it), as csrRows on a copy of the whole of `A` would
 * (the same entries in the same order), but copying a block of about 64 KB at a time into the
 * scratch at `at` and compressing it while it is still in cache: a 627 KB batch then never
 * passes through memory twice. With `pick`, the rows are `A`'s rows `pick[0..rows)` (a batch
 * drawn from a data set, its rows copied straight from there). Returns the count of non-zeros,
 * or −1 past `maxNnz`. Shared with src/parallel's held operands in the shared memory.
 */
export function compressRows(
  w: Pick<KernelExports, 'csrRowsFrom'>,
  F: Float64Array,
  I: Int32Array,
  A: Float64Array,
  rows: number,
  cols: number,
  maxNnz: number,
  at: number,
  rp: number,
  ci: number,
  v: number,
  pick: Int32Array | null = null,
): number {
  const step = Math.max(1, Math.floor(BLOCK_BYTES / (cols * 8)))
  I[rp >> 2] = 0
  let nnz = 0
  // `A` already in this memory (an arena's view): compressed where it lies
  const own = A.buffer === F.buffer && pick === null
  for (let i0 = 0; i0 < rows; i0 += step) {
    const i1 = Math.min(rows, i0 + step)
    let from = at
    if (own) from = A.byteOffset + i0 * cols * 8
    else if (pick === null) F.set(A.subarray(i0 * cols, i1 * cols), at >> 3)
    else {
      for (let i = i0, o = at >> 3; i < i1; i++, o += cols) {
        const r = pick[i] * cols
        F.set(A.subarray(r, r + cols), o)
      }
    }
    nnz = w.csrRowsFrom(from, i1 - i0, cols, maxNnz, rp + 4 * i0, ci, v)
    if (nnz < 0) return -1
  }
  return nnz
}

/**
 * Copies `op(B)` (k×n) into `dst` (a view of a module's memory) at byte `at`, transposing a
 * stored n×k `B` on the way. Shared with src/parallel's kernels on the shared memory.
 */
export function placeB(
  dst: Float64Array,
  B: Float64Array,
  k: number,
  n: number,
  transB: boolean,
  at: number,
): void {
  const o = at >> 3
  if (!transB) {
    dst.set(B.length === k * n ? B : B.subarray(0, k * n), o)
    return
  }
  for (let j = 0; j < n; j++) {
    const src = j * k
    for (let p = 0; p < k; p++) dst[o + p * n + j] = B[src + p]
  }
}

/**
 * Where a sparse product `C = op(A)·op(B)` (C m×n, op(B) k×n, op(A)'s compressed rows holding at
 * most maxNnz non-zeros) lays out its operands from byte `at`: `aBytes` for the dense A (or a
 * block of it), op(A)'s CSR (rp / ci / v: the kernels write up to maxNnz + cols entries), B, C,
 * and for `Aᵀ·B` the CSR of A's rows (trp / tci / tv), compressed first and then transposed by a
 * counting sort into rp / ci / v — far cheaper than csrCols' two strided scans of the dense A,
 * and the same entries in the same order. `bytes` is the whole extent. Shared by the one-thread
 * kernel here and src/parallel's two-thread one.
 */
export function sparseLayout(
  m: number,
  k: number,
  n: number,
  transA: boolean,
  maxNnz: number,
  at: number,
  aBytes: number,
) {
  const cols = transA ? m : k
  const rpBytes = align16((m + 1) * 4)
  const ciBytes = align16((maxNnz + cols) * 4)
  const vBytes = align16((maxNnz + cols) * 8)
  const a = at
  const rp = a + aBytes
  const ci = rp + rpBytes
  const v = ci + ciBytes
  const b = v + vBytes
  const c = b + align16(k * n * 8)
  const trp = c + align16(m * n * 8)
  const tci = trp + align16((k + 1) * 4)
  const tv = tci + ciBytes
  const end = transA ? tv + vBytes : c + m * n * 8
  return { a, rp, ci, v, b, c, trp, tci, tv, rpBytes, ciBytes, vBytes, bytes: end - at }
}

/** Dense `C = op(A)·op(B)` on the SIMD kernel (the same contract as gemmDenseJs). */
export function gemmDenseWasm(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('gemmDenseWasm: WebAssembly SIMD is unavailable')
  // operands already in linear memory (the tape's arena) are read, and C written, where they lie
  const ra = inMemory(w, A)
  const rb = inMemory(w, B)
  const rc = inMemory(w, C)
  const pBytes = packsB(m, k, n, transA, transB) ? align16(k * (n & ~3) * 8) : 0
  const paBytes = pBytes > 0 && packsA(m, k, transA) ? align16((m & ~3) * k * 8) : 0
  // packB reads B as stored; the plain kernel needs a transposed B transposed first
  const bInPlace = rb >= 0 && (pBytes > 0 || !transB)
  const aBytes = ra >= 0 ? 0 : align16(m * k * 8)
  const bBytes = bInPlace ? 0 : align16(k * n * 8)
  const cBytes = rc >= 0 ? 0 : align16(m * n * 8)
  reserve(w, floor - BASE + aBytes + bBytes + cBytes + pBytes + paBytes)
  const a = ra >= 0 ? ra : floor
  const b = bInPlace ? rb : floor + aBytes
  const c = rc >= 0 ? rc : floor + aBytes + bBytes
  if (ra < 0) f64.set(A.length === m * k ? A : A.subarray(0, m * k), a >> 3)
  if (pBytes > 0) {
    // B as stored (a memcpy; a transposed B is read in place by packB), then packed in wasm
    const pk = floor + aBytes + bBytes + cBytes
    if (!bInPlace) f64.set(B.length === k * n ? B : B.subarray(0, k * n), b >> 3)
    const sbp = transB ? 1 : n
    const sbj = transB ? k : 1
    const sai = transA ? 1 : k
    const sap = transA ? m : 1
    w.packB(b, k, n, sbp, sbj, pk)
    const pka = paBytes > 0 ? pk + pBytes : 0
    if (pka !== 0) w.packA(a, m, k, sai, sap, pka)
    w.gemmPacked(a, pka, pk, b, c, m, k, n, sai, sap, sbp, sbj)
  } else {
    if (!bInPlace) placeB(f64, B, k, n, transB, b)
    w.gemm(a, b, c, m, k, n, transA ? 1 : k, transA ? m : 1)
  }
  if (rc < 0) C.set(f64.subarray(c >> 3, (c >> 3) + m * n))
}

/** X's byte offset when it is a view of `w`'s linear memory (an open arena's), else −1. */
const inMemory = (w: KernelExports, X: Float64Array): number =>
  X.buffer === w.memory.buffer ? X.byteOffset : -1

/**
 * When a dense product packs `op(B)` into panels of four columns first (packB, gemmPacked) and,
 * for a transposed A, `op(A)` into blocks of four rows (packA): an `op(B)` that outgrows L2, a
 * transposed B (which the plain kernel needs transposed in JavaScript first) or a transposed A
 * (whose rows the plain kernel reads a whole row of A apart) is then walked contiguously; for
 * small products the packing costs more than it saves. Measured with bench/kernels.bench.ts
 * (bench/RESULTS.md, "Issue 21, session 6"): W6's 1024-wide products 2.1–2.7× faster, W5's
 * transposed ones 5–8%, W5's h1·W2 (B 256 KB, in L2) 10% slower packed, so left plain. Tests set
 * every knob to 0 to send all products through the packed kernel.
 */
export const packing = {
  /** k·n (op(B)'s size) from which any product packs */
  minKn: 1 << 17,
  /** k·n from which a product with a transposed B packs */
  minKnTransB: 1 << 14,
  /** m·k (op(A)'s size) from which a product with a transposed A packs both operands */
  minMkTransA: 1 << 15,
  /** fewer rows or columns of C than this never pack */
  minM: 8,
  minN: 8,
}

/** Whether `gemmDenseWasm` packs `op(B)` (see `packing`). */
export function packsB(m: number, k: number, n: number, transA: boolean, transB: boolean): boolean {
  if (n < Math.max(4, packing.minN) || m < packing.minM) return false
  return (
    k * n >= packing.minKn ||
    (transB && k * n >= packing.minKnTransB) ||
    (transA && m * k >= packing.minMkTransA)
  )
}

/** Whether a packed product also packs `op(A)`'s rows (a transposed A, at least 4 rows). */
export const packsA = (m: number, k: number, transA: boolean): boolean =>
  transA && m >= 4 && m * k >= packing.minMkTransA

/**
 * Sparse `C = op(A)·op(B)`: compresses the rows of `op(A)` in linear memory (in wasm: `A`'s
 * rows, or for `Aᵀ·B` its columns — `A`'s rows compressed, then transposed by a counting sort)
 * and runs the SIMD sparse kernel, which walks each row's non-zeros with fourteen columns of `C`
 * in registers. Returns false, computing nothing, when `A` has more than `maxNnz` non-zeros,
 * or when `finiteB` and `B` holds ±∞ or NaN (checked in wasm on the copy of `B`): the caller
 * then takes the dense path.
 */
export function gemmSparseWasm(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  maxNnz: number,
  finiteB = false,
): boolean {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('gemmSparseWasm: WebAssembly SIMD is unavailable')
  const rows = transA ? k : m
  const cols = transA ? m : k
  const { a, rp, ci, v, b, c, trp, tci, tv, bytes } = sparseLayout(
    m,
    k,
    n,
    transA,
    maxNnz,
    floor,
    blockBytes(rows, cols),
  )
  const rb = transB ? -1 : inMemory(w, B)
  const rc = inMemory(w, C)
  reserve(w, floor - BASE + bytes)
  const bAt = rb >= 0 ? rb : b
  if (rb < 0) placeB(f64, B, k, n, transB, b)
  if (finiteB && w.allFinite(bAt, k * n) === 0) return false
  if (transA) {
    if (compressRows(w, f64, i32, A, rows, cols, maxNnz, a, trp, tci, tv) < 0) return false
    w.csrTranspose(trp, tci, tv, rows, cols, rp, ci, v)
  } else if (compressRows(w, f64, i32, A, rows, cols, maxNnz, a, rp, ci, v) < 0) return false
  w.gemmCsr(rp, ci, v, bAt, rc >= 0 ? rc : c, m, n)
  if (rc < 0) C.set(f64.subarray(c >> 3, (c >> 3) + m * n))
  return true
}

/**
 * A left operand compressed once and kept in linear memory (byte offsets of its two CSRs): this
 * module's memory, or with `split` the memory src/parallel's two threads share, where `split`
 * runs its products (gemmKernel.ts's gemmHeld) and ends the hold.
 */
export interface HeldSparse {
  readonly rows: number
  readonly cols: number
  readonly rp: number
  readonly ci: number
  readonly v: number
  readonly trp: number
  readonly tci: number
  readonly tv: number
  readonly end: number
  readonly split?: HeldSplit
  /** its count of non-zeros, where the hold found it (holdSparse) */
  readonly nnz?: number
  /**
   * Where the columns' CSR merged two by two goes (csrPairs, made at the first product `Aᵀ·B`
   * that reads it; see gemmHeldWasm): holdSparse and holdSparseRows make room for it
   */
  readonly pairs?: PairsLayout
  /**
   * false while its columns' CSR (trp / tci / tv) is not made yet; gemmHeldWasm makes it at the
   * first `Aᵀ·B` that reads it (one that walks the column pairs makes them from the rows' CSR)
   */
  transposed?: boolean
}

/** The byte offsets of a held operand's column pairs (gemm.ts csrPairs, gemmCsrPairs). */
interface PairsLayout {
  readonly rp: number
  readonly ci: number
  readonly v: number
  readonly end: number
}

/**
 * Where the pairs of a held operand's `cols` columns (at most `entries` entries in all) go from
 * byte `at`: (cols + 1)/2 + 1 pointers, a column index and two values per entry.
 */
function pairsLayout(cols: number, entries: number, at: number): PairsLayout {
  const rp = at
  const ci = rp + align16((((cols + 1) >> 1) + 1) * 4)
  const v = ci + align16(entries * 4)
  return { rp, ci, v, end: v + align16(entries * 16) }
}

/** The held operands whose column pairs csrPairs has made (made once, read by each Aᵀ·B). */
const paired = new WeakSet<HeldSparse>()

/**
 * Products `Aᵀ·B` of a held A that walked its column pairs, and pairs made straight from the
 * rows' CSR (counts for tests and benchmarks).
 */
export const pairStats = { products: 0, fromRows: 0 }

/**
 * When `Aᵀ·B` of a held A walks A's column pairs: the merge (csrPairs) costs the same for any
 * width of B, the loads the pairs save grow with it, so a narrow product loses (W3's n = 50:
 * the hold and product 1.13–1.29× slower with the pairs) and a wide one gains (W5's 256: about
 * 0.92×; even around 96–192). Narrower products keep gemmCsrLd; the bits are the same either
 * way. Tests set `minColumns` to 0 to send every such product through the pairs.
 */
export const pairing = { minColumns: 192 }

/** The products of a left operand held in a shared memory (see HeldSparse). */
export interface HeldSplit {
  /** gemmHeldWasm's contract, on the threads that share the memory */
  product(
    B: Float64Array,
    C: Float64Array,
    n: number,
    transA: boolean,
    transB: boolean,
    finiteB: boolean,
  ): boolean
  /** ends the hold */
  release(): void
}

/**
 * Copies `A` (rows×cols) into linear memory once (block by block), compresses its rows and (by csrTranspose)
 * its columns, and keeps both compressed forms there until `releaseSparse`: products run in
 * between lay their operands out above them. For an operand used as `A·B` and `Aᵀ·D` in one
 * step (backprop's x·W1 and xᵀ·δ1) this saves a copy and a compression. With `pick`, the
 * operand is `A`'s rows `pick[0..rows)` (compressRows). Returns null, holding nothing, when the
 * operand has more than `maxNnz` non-zeros or another operand is held.
 */
export function holdSparse(
  A: Float64Array,
  rows: number,
  cols: number,
  maxNnz: number,
  pick: Int32Array | null = null,
  transpose = true,
): HeldSparse | null {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('holdSparse: WebAssembly SIMD is unavailable')
  if (floor !== base) return null
  const L = heldLayout(rows, cols, maxNnz, base)
  const P = pairsLayout(cols, maxNnz + cols, L.end)
  // on another memory (a shared one, whose copies from JavaScript memory go word by word), the
  // rows are compressed in this module's own and only their entries copied over
  const away = w !== own && A.buffer !== w.memory.buffer
  // the dense copy's block sits above the compressed forms (over the pairs' place, made later):
  // scratch, free again once compressed
  reserve(w, Math.max(away ? 0 : L.end + blockBytes(rows, cols), P.end) - BASE)
  const nnz = away
    ? compressAway(A, rows, cols, maxNnz, pick, L)
    : compressRows(w, f64, i32, A, rows, cols, maxNnz, L.end, L.rp, L.ci, L.v, pick)
  if (nnz < 0) return null
  if (transpose) w.csrTranspose(L.rp, L.ci, L.v, rows, cols, L.trp, L.tci, L.tv)
  floor = P.end
  return { ...L, end: P.end, pairs: P, nnz, transposed: transpose }
}

/**
 * Rows of 8-bit levels: row r of a rows×cols matrix is `bytes[r·cols … (r + 1)·cols)`, each
 * byte b standing for the number `(b·mul) / div` (0 for +0): a data set kept as its bytes
 * (gatheredRows.ts `keepBytes`).
 */
export interface ByteRows {
  readonly bytes: Uint8Array
  readonly cols: number
  readonly levels: Levels
}

/**
 * Run once by the next hold of a left operand (gemmKernel.ts's holdGathered and holdLeft, held
 * or not), then cleared: src/parallel's two-thread step wakes its helper there rather than as
 * the step starts, so that the hold's copies and compression do not run beside a polling thread
 * (the two vCPUs share a core: while both work, each runs at about half speed).
 */
export const afterHold: { run: (() => void) | null } = { run: null }

/** Holds by holdBytes in this module's own memory and in another (counts for tests, benchmarks). */
export const byteHolds = { own: 0, other: 0 }

/**
 * `holdSparse` for the matrix whose rows are rows `pick` of a matrix of 8-bit levels: the bytes
 * of those rows are copied into linear memory (an eighth of the numbers' bytes) and compressed
 * there (csrRowsBytes: the entries csrRows finds in the numbers, in the same order); the columns'
 * CSR is made where a product reads it (gemmHeldWasm). In the memory the kernels run on, a
 * shared one too (a byte copy into it costs about what it costs into this module's own). Returns
 * null, holding nothing, past `maxNnz` non-zeros or when another operand is held.
 */
export function holdBytes(src: ByteRows, pick: Int32Array, maxNnz: number): HeldSparse | null {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('holdBytes: WebAssembly SIMD is unavailable')
  if (floor !== base) return null
  const { bytes, cols, levels } = src
  const rows = pick.length
  const L = heldLayout(rows, cols, maxNnz, base)
  const P = pairsLayout(cols, maxNnz + cols, L.end)
  // the bytes and the levels' table sit above the compressed rows (over the pairs' place, made
  // later): scratch, free again once compressed
  const table = align16(L.end + rows * cols)
  reserve(w, Math.max(table + 256 * 8, P.end) - BASE)
  for (let i = 0, at = L.end; i < rows; i++, at += cols) {
    const r = pick[i] * cols
    u8.set(bytes.subarray(r, r + cols), at)
  }
  const nnz = w.csrRowsBytes(
    L.end,
    rows,
    cols,
    maxNnz,
    L.rp,
    L.ci,
    L.v,
    levels.mul,
    levels.div,
    table,
  )
  if (nnz < 0) return null
  if (w === own) byteHolds.own++
  else byteHolds.other++
  floor = P.end
  return { ...L, end: P.end, pairs: P, nnz, transposed: false }
}

/**
 * compressRows into `L`'s rows (in the memory the kernels run on, not this module's own) by way
 * of own memory: the same entries in the same order.
 */
function compressAway(
  A: Float64Array,
  rows: number,
  cols: number,
  maxNnz: number,
  pick: Int32Array | null,
  L: HeldSparse,
): number {
  const rpBytes = align16((rows + 1) * 4)
  const ciBytes = align16((maxNnz + cols) * 4)
  const vBytes = align16((maxNnz + cols) * 8)
  const { F, I } = ownScratch(rpBytes + ciBytes + vBytes + blockBytes(rows, cols))
  const rp = BASE
  const ci = rp + rpBytes
  const v = ci + ciBytes
  const nnz = compressRows(own!, F, I, A, rows, cols, maxNnz, v + vBytes, rp, ci, v, pick)
  if (nnz < 0) return -1
  i32.set(I.subarray(rp >> 2, (rp >> 2) + rows + 1), L.rp >> 2)
  i32.set(I.subarray(ci >> 2, (ci >> 2) + nnz), L.ci >> 2)
  f64.set(F.subarray(v >> 3, (v >> 3) + nnz), L.v >> 3)
  return nnz
}

/** Where a held operand's two CSRs go, from byte `at` (see holdSparse). */
export function heldLayout(rows: number, cols: number, maxNnz: number, at = BASE): HeldSparse {
  const ciBytes = align16((maxNnz + cols) * 4)
  const vBytes = align16((maxNnz + cols) * 8)
  const rp = at
  const ci = rp + align16((rows + 1) * 4)
  const v = ci + ciBytes
  const trp = v + vBytes
  const tci = trp + align16((cols + 1) * 4)
  const tv = tci + ciBytes
  return { rows, cols, rp, ci, v, trp, tci, tv, end: tv + vBytes }
}

/**
 * The column indices of the entries ≠ 0 (csrRows' rule: NaN kept, ±0 dropped) of rows
 * `rows[0..count)` of `source` (row-major, `cols` wide), written into `out` from `at` on, row
 * after row, each row's count into `counts[0..count)`; returns the position after the last.
 * With `levels`, each entry is written packed with its 8-bit level instead (csrPack:
 * `col | k << 16`, value `(k·mul) / div`), and −1 is returned (what `out` holds then is
 * unspecified) as soon as an entry has no such level.
 * `out` must have room for count·cols more. The rows are copied into linear memory a block of
 * about 64 KB at a time and compressed there by the SIMD kernel (several times faster than a
 * JavaScript loop over the numbers); gatheredRows.ts's row cache finds a batch's new rows so.
 * With `bytes` (the rows kept as bytes, keepBytes) at the same levels, each row's bytes are
 * copied instead, an eighth of the memory to read (a first draw reads each row cold), and
 * compressed by csrRowsBytes: the entries csrRows finds in the numbers.
 */
export function rowIndicesWasm(
  source: Float64Array,
  cols: number,
  rows: Int32Array,
  count: number,
  out: Uint16Array | Int32Array,
  at: number,
  counts: Int32Array,
  levels: Levels | null = null,
  bytes: ByteRows | null = null,
): number {
  if (!(wasm ?? loadWasm())) throw new Error('rowIndicesWasm: WebAssembly SIMD is unavailable')
  const w = own!
  const B =
    levels !== null && bytes?.levels.mul === levels.mul && bytes.levels.div === levels.div
      ? bytes.bytes
      : null
  const step = Math.max(1, Math.floor(BLOCK_BYTES / (cols * 8)))
  // on this module's own memory, also while the kernels run on another (see ownScratch); with no
  // arena open, above the numbers twins still stand for (the update's sum where the last tape
  // call read its parameter: the next call finds it there), which then stay valid
  const above = wasm === own && !pinned ? twinsEnd() : 0
  const a = wasm === own ? Math.max(floor, above) : BASE
  const rp = a + align16(step * cols * 8)
  const ci = rp + align16((step + 1) * 4)
  const v = ci + align16((step + 1) * cols * 4)
  // csrRowsBytes' 256 values of the levels
  const table = v + align16((step + 1) * cols * 8)
  const need = table + 256 * 8 - BASE
  if (wasm === own) reserve(w, need, above <= floor, a)
  const { F, I } = wasm === own ? { F: f64, I: i32 } : ownScratch(need)
  const U = B === null ? null : new Uint8Array(F.buffer)
  const a8 = a >> 3
  const rp4 = rp >> 2
  for (let i0 = 0; i0 < count; i0 += step) {
    const i1 = Math.min(count, i0 + step)
    if (U !== null) {
      for (let i = i0; i < i1; i++) {
        const o = rows[i] * cols
        U.set(B!.subarray(o, o + cols), a + (i - i0) * cols)
      }
      const { mul, div } = levels!
      w.csrRowsBytes(a, i1 - i0, cols, (i1 - i0) * cols, rp, ci, v, mul, div, table)
    } else {
      for (let i = i0; i < i1; i++) {
        const o = rows[i] * cols
        F.set(source.subarray(o, o + cols), a8 + (i - i0) * cols)
      }
      w.csrRows(a, i1 - i0, cols, (i1 - i0) * cols, rp, ci, v)
    }
    const nnz = I[rp4 + i1 - i0]
    // packed entries go over the block of rows (free once it is compressed), a word on where
    // `out` is (a copy into shared memory goes by 8-byte words only where both agree modulo 8)
    const from = levels === null ? ci >> 2 : (a >> 2) + ((at - (a >> 2)) & 1)
    if (levels !== null && w.csrPack(ci, v, nnz, levels.mul, levels.div, 4 * from) !== nnz)
      return -1
    out.set(I.subarray(from, from + nnz), at)
    for (let i = i0; i < i1; i++) {
      const c = I[rp4 + i - i0 + 1] - I[rp4 + i - i0]
      counts[i] = c
      at += c
    }
  }
  return at
}

/** Values that are 8-bit levels k = 1…255: the value of level k is `(k·mul) / div`. */
export interface Levels {
  readonly mul: number
  readonly div: number
}

/**
 * Rows whose non-zeros were found elsewhere (src/tensor/gatheredRows.ts): row r's entries are
 * `rowAt[2r + 1]` from `rowAt[2r]`, in increasing column order. With `levels`, they are `packed` there
 * (csrPack: `col | k << 16`, value `(k·mul) / div`); else at the column indices `colIdx`, their
 * values `vals` from `valStart[r]`, or where that is −1 in `source` (rows×cols, row-major) at
 * those columns.
 */
export interface RowEntries {
  readonly rowAt: Int32Array
  readonly levels: Levels | null
  readonly packed: Int32Array
  readonly colIdx: Uint16Array | Int32Array
  readonly valStart: Int32Array
  readonly vals: Float64Array
  readonly source: Float64Array
  readonly cols: number
}

/** What gatherRows' first loads read (nothing uses it). */
let touched = 0

/**
 * Writes the CSR of the matrix whose rows are `src`'s rows `pick` into a module's memory (`w`
 * runs on it, `I` / `F` view it) at byte offsets `rp` (pick.length + 1 row pointers), `ci` and
 * `v`: the entries compressing those rows densely would give, in the same order. `ci` needs room
 * for an entry past the last row's (heldLayout's has `cols` more). Shared with src/parallel's
 * two-thread step.
 */
export function gatherRows(
  w: Pick<KernelExports, 'csrUnpack'>,
  I: Int32Array,
  F: Float64Array,
  src: RowEntries,
  pick: Int32Array,
  rp: number,
  ci: number,
  v: number,
): void {
  const { rowAt, levels } = src
  const r0 = rp >> 2
  const c0 = ci >> 2
  const rows = pick.length
  let at = 0
  I[r0] = 0
  if (levels !== null) {
    // packed rows (a third of the bytes): one copy a row, then unpacked in place by the kernel
    const { packed } = src
    // the rows lie at random places: one load of each row's first and last entry first, so that
    // their cache and TLB misses overlap rather than come one copy after the other (a cold
    // batch's gather 25–29 µs → 14–20, bench/RESULTS.md issue 21 session 8); |0 keeps it an int
    let touch = 0
    for (let i = 0; i < rows; i++) {
      const s = rowAt[2 * pick[i]]
      const c = rowAt[2 * pick[i] + 1]
      if (c > 0) touch = (touch + packed[s] + packed[s + c - 1]) | 0
    }
    touched = touch // kept, so that the loads are not optimized away
    // a copy from or into shared memory (the entries where a worker reads them, the two threads'
    // memory) goes by 8-byte words only where source and destination agree modulo 8, else byte
    // by byte (several times slower): a row that does not is copied with the entry after it,
    // into the next row's first place (written next) or past the last row's
    for (let i = 0; i < rows; i++) {
      const s = rowAt[2 * pick[i]]
      const n = rowAt[2 * pick[i] + 1]
      I.set(packed.subarray(s, s + n + ((c0 + at - s) & 1)), c0 + at)
      at += n
      I[r0 + i + 1] = at
    }
    w.csrUnpack(ci, v, at, levels.mul, levels.div)
    return
  }
  const { colIdx, valStart, vals, source, cols } = src
  const v0 = v >> 3
  for (let i = 0; i < rows; i++) {
    const r = pick[i]
    const s = rowAt[2 * r]
    const e = s + rowAt[2 * r + 1]
    // subarray + set (a memcpy) beats copying a row's ~150 entries one by one (1.4-1.9x)
    I.set(colIdx.subarray(s, e), c0 + at)
    const vs = valStart[r]
    if (vs >= 0) F.set(vals.subarray(vs, vs + e - s), v0 + at)
    else for (let q = s, f = v0 + at, o = r * cols; q < e; q++) F[f++] = source[o + colIdx[q]]
    at += e - s
    I[r0 + i + 1] = at
  }
}

/**
 * A batch's rows gathered and sorted by column ahead on a worker thread (src/parallel's
 * rowPrefetch.ts), in `words` (a shared memory) from these word offsets: row pointers and packed
 * entries (col | level << 16, gatherRows' order), column pointers and packed entries by column
 * (row | level << 16, csrTranspose's order); each entry's value is `(level·mul) / div`.
 */
export interface StagedRows {
  readonly words: Int32Array
  readonly rp: number
  readonly ci: number
  readonly trp: number
  readonly tci: number
  readonly levels: Levels
}

/**
 * `holdSparse` for the matrix whose rows are `src`'s rows `pick` (rows×cols, `nnz` entries in
 * all): their compressed entries are gathered straight into linear memory — the CSR that
 * compressing the dense rows would give, entry for entry — and the columns' CSR made where a
 * product reads it (gemmHeldWasm); with `staged` (the same rows gathered and transposed ahead),
 * both CSRs are copied from there and unpacked, the same entries. Returns null when another
 * operand is held.
 */
export function holdSparseRows(
  src: RowEntries,
  pick: Int32Array,
  cols: number,
  nnz: number,
  staged: StagedRows | null = null,
): HeldSparse | null {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('holdSparseRows: WebAssembly SIMD is unavailable')
  if (floor !== base) return null
  const rows = pick.length
  const L = heldLayout(rows, cols, nnz, base)
  const P = pairsLayout(cols, nnz, L.end)
  reserve(w, P.end - BASE)
  if (staged !== null) {
    const { words: S, rp, ci, trp, tci, levels } = staged
    i32.set(S.subarray(rp, rp + rows + 1), L.rp >> 2)
    i32.set(S.subarray(ci, ci + nnz), L.ci >> 2)
    w.csrUnpack(L.ci, L.v, nnz, levels.mul, levels.div)
    i32.set(S.subarray(trp, trp + cols + 1), L.trp >> 2)
    i32.set(S.subarray(tci, tci + nnz), L.tci >> 2)
    w.csrUnpack(L.tci, L.tv, nnz, levels.mul, levels.div)
  } else gatherRows(w, i32, f64, src, pick, L.rp, L.ci, L.v)
  floor = P.end
  // the columns' CSR where a product reads it (gemmHeldWasm)
  return { ...L, end: P.end, pairs: P, transposed: staged !== null }
}

/** True while an operand is held here (holdSparse, holdSparseRows): another hold returns null. */
export const heldNow = (): boolean => floor !== base

/** Ends a hold: later products lay out from the start again. */
export function releaseSparse(h: HeldSparse): void {
  if (floor === h.end) floor = base
  lowerBottom()
}

/**
 * Places `B` (k×n, row-major) at the bottom of linear memory as gemmHeldWasm lays out a right
 * operand (rows `paddedStride(n)` apart), and checks it for ±∞ and NaN once, until
 * `dropResident`: held products whose right operand is this very array (`gemmHeldWasm`, not
 * transposed) read it there instead of copying and checking it again, and every other layout —
 * the tape's arena included — lies above it. For one synchronous run of many products with one
 * right operand (mlp's logits over a data set's blocks of rows: x·W1 for each), which cannot
 * change in between (arrays are values). Returns false, placing nothing, unless this module's
 * own memory is idle (no arena, nothing held or placed) and can hold it.
 */
export function placeResident(B: Float64Array, k: number, n: number): boolean {
  const w = wasm ?? loadWasm()
  if (!w || w !== own || pinned || resident !== null) return false
  if (floor !== BASE || base !== BASE || bottom !== BASE || B.length < k * n) return false
  const ldb = paddedStride(n)
  const bytes = align16(k * ldb * 8)
  try {
    reserve(w, bytes)
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
    return false
  }
  if (ldb === n) placeB(f64, B, k, n, false, BASE)
  else placePadded(f64, B, k, n, ldb, false, BASE, w)
  resident = { B, k, n, finite: w.allFinite(BASE, k * ldb) !== 0 }
  bottom = base = floor = BASE + bytes
  return true
}

/** Whether `B` is the right operand `placeResident` placed (held products read it there). */
export const isResident = (B: Float64Array): boolean => resident !== null && resident.B === B

/** Ends `placeResident`'s placement: layouts start from BASE again (once nothing is held). */
export function dropResident(): void {
  resident = null
  lowerBottom()
}

/** Layouts from BASE again when nothing is placed, held or open above the bottom. */
function lowerBottom(): void {
  if (resident === null && bottom !== BASE && !pinned && floor === bottom && base === bottom) {
    bottom = base = floor = BASE
  }
}

/**
 * `C = A·op(B)` (or `Aᵀ·op(B)` when `transA`) for a held `A`; `op(B)` is k×n. Returns false,
 * computing nothing, when `finiteB` and `B` holds ±∞ or NaN (checked in wasm on its copy).
 * `Aᵀ·op(B)` with a finite B walks A's columns two by two
 * (csrPairs, gemmCsrPairs: each slice of B loaded once for both; for an image batch, neighbouring
 * pixels are mostly on together) — the same bits as one column at a time.
 */
export function gemmHeldWasm(
  h: HeldSparse,
  B: Float64Array,
  C: Float64Array,
  n: number,
  transA: boolean,
  transB: boolean,
  finiteB = false,
): boolean {
  const w = wasm ?? loadWasm()
  if (!w || floor !== h.end) throw new Error('gemmHeldWasm: expected a held operand')
  const m = transA ? h.cols : h.rows
  const k = transA ? h.rows : h.cols
  const ldb = paddedStride(n)
  // B placed once for many products (placeResident): read there, its finiteness known
  const placed =
    !transB && resident !== null && resident.B === B && resident.k === k && resident.n === n
  if (placed) {
    if (finiteB && !resident!.finite) return false
    residentStats.uses++
  }
  const rb = placed ? BASE : ldb === n && !transB ? inMemory(w, B) : -1
  const rc = inMemory(w, C)
  const bBytes = rb >= 0 ? 0 : align16(k * ldb * 8)
  const cBytes = rc >= 0 ? 0 : align16(m * n * 8)
  // on one thread, the held entries' rows of B by their byte offsets (past C; as many as the
  // entries, the same in both forms); kernels split with the helper (useKernels) keep gemmCsr
  const nnz = w === own ? i32[(h.rp >> 2) + h.rows] : -1
  reserve(w, floor - BASE + bBytes + cBytes + Math.max(0, nnz) * 4)
  const b = rb >= 0 ? rb : floor
  const c = rc >= 0 ? rc : floor + bBytes
  const off = floor + bBytes + cBytes
  // whether B is finite where placing it found out (1 or 0), else −1
  let finite = placed ? (resident!.finite ? 1 : 0) : -1
  if (rb < 0) {
    // a B that lies in this memory already (a tape's W1, in its arena or in its optimizer's
    // band of the two threads' memory) padded from there in one pass, checked on the way
    let from = ldb === n || transB ? -1 : inMemory(w, B)
    if (from >= 0 && from < b + k * ldb * 8 && b < from + k * n * 8) from = -1 // overlapping
    if (ldb === n) placeB(f64, B, k, n, transB, b)
    else if (from >= 0) finite = w.padRowsFrom(from, b, k, n, ldb)
    else placePadded(f64, B, k, n, ldb, transB, b, w)
  }
  if (finiteB && finite < 0) finite = w.allFinite(b, k * ldb)
  if (finiteB && finite === 0) return false
  const P = h.pairs
  if (transA && P !== undefined && finiteB && n >= pairing.minColumns) {
    // B is finite (checked above): a pair's 0·b for the row without an entry adds +0 or −0 to
    // a sum that is never −0, so each entry is gemmCsrLd's, bit for bit
    if (!paired.has(h)) {
      // from the columns' CSR where it is made, else straight from the rows' (the same pairs)
      if (h.transposed === false) {
        w.csrPairsRows(h.rp, h.ci, h.v, h.rows, h.cols, P.rp, P.ci, P.v)
        pairStats.fromRows++
      } else w.csrPairs(h.trp, h.tci, h.tv, h.cols, P.rp, P.ci, P.v)
      paired.add(h)
    }
    pairStats.products++
    w.gemmCsrPairs(P.rp, P.ci, P.v, b, c, m, n, ldb)
  } else {
    if (transA && h.transposed === false) {
      w.csrTranspose(h.rp, h.ci, h.v, h.rows, h.cols, h.trp, h.tci, h.tv)
      h.transposed = true
    }
    // each entry's row of B named by its byte offset (rows ldb apart): gemmCsrLd's sums, with
    // no multiply in the inner loop
    const [rp, ci, v] = transA ? [h.trp, h.tci, h.tv] : [h.rp, h.ci, h.v]
    if (nnz >= 0) {
      w.csrOffsets(ci, off, nnz, ldb * 8)
      w.gemmCsrOff(rp, off, v, b, c, m, n)
    } else if (ldb === n) w.gemmCsr(rp, ci, v, b, c, m, n)
    else w.gemmCsrLd(rp, ci, v, b, c, m, n, ldb)
  }
  if (rc < 0) C.set(f64.subarray(c >> 3, (c >> 3) + m * n))
  return true
}

/**
 * The row stride (in numbers) the sparse kernel reads a right operand of n columns with: n, or
 * n + 4 when n·8 bytes is a multiple of 256 (n a multiple of 32: W5's 256), where rows a power
 * of two apart put the same slice of every row in the same L1 sets (see gemm.ts, gemmCsrLd).
 */
export const paddedStride = (n: number): number => (n >= 32 && n % 32 === 0 ? n + 4 : n)

/**
 * Whether `b` is a SharedArrayBuffer; false where the global does not exist (a page that is not
 * cross-origin isolated, where naming it throws a ReferenceError).
 */
const isShared = (b: ArrayBufferLike): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer

/**
 * placeB with op(B)'s rows `ldb` numbers apart and the `ldb − n` numbers after each row set to 0
 * (the kernel never reads them; allFinite over the whole block then checks only B's values).
 * Shared with src/parallel's held products.
 */
export function placePadded(
  dst: Float64Array,
  B: Float64Array,
  k: number,
  n: number,
  ldb: number,
  transB: boolean,
  at: number,
  w: Pick<KernelExports, 'padRows'> | null = null,
): void {
  const o = at >> 3
  if (!transB && w === null && isShared(dst.buffer)) {
    // a shared memory's copies go word by word (relaxed atomics, not memcpy): without the
    // kernel's moves, one pass, each row to its place, costs half of the whole copy and the
    // moves below
    for (let p = 0; p < k; p++) {
      const r = o + p * ldb
      dst.set(B.subarray(p * n, p * n + n), r)
      dst.fill(0, r + n, r + ldb)
    }
    return
  }
  if (!transB) {
    // one copy of the whole of B, then each row moved up to its place, the last first (a
    // row's new place lies past its old one): 1.5x faster than a subarray and a copy per row;
    // the moves in wasm (padRows, `w` the module over `dst`) when given, without a call per row
    // (on a shared memory too: the one copy there, then the kernel's moves, beat a copy a row)
    placeB(dst, B, k, n, false, at)
    if (w !== null) return w.padRows(at, k, n, ldb)
    for (let p = k - 1; p >= 0; p--) {
      const r = o + p * ldb
      if (p > 0) dst.copyWithin(r, o + p * n, o + p * n + n)
      dst.fill(0, r + n, r + ldb)
    }
    return
  }
  for (let p = 0; p < k; p++) {
    const r = o + p * ldb
    for (let j = 0; j < n; j++) dst[r + j] = B[j * k + p]
    dst.fill(0, r + n, r + ldb)
  }
}

/**
 * `Z[i, j] = 1 / (1 + e^−(Z[i, j] + bias[j]))` in place for an n×h `Z` (row-major) and h
 * biases, in wasm: its exp is Node 20's Math.exp (V8 11.3's fdlibm) ported operation for
 * operation, so under Node the values equal the JavaScript loop's bit for bit at a fraction of
 * the cost. Other engines' Math.exp may differ in the last bit (Chromium 156's does for ~10% of
 * arguments); wasm's own arithmetic gives the same bits everywhere.
 */
export function sigmoidBiasWasm(Z: Float64Array, bias: Float64Array, n: number, h: number): void {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('sigmoidBiasWasm: WebAssembly SIMD is unavailable')
  biasInPlace(w, w.sigmoidBias, Z, bias, n, h)
}

/** `kernel(z, bias, n, h)` on Z in place: where Z lies if it is in linear memory, else on a copy. */
function biasInPlace(
  w: KernelExports,
  kernel: (z: number, bias: number, n: number, h: number) => void,
  Z: Float64Array,
  bias: Float64Array,
  n: number,
  h: number,
): void {
  const rz = inMemory(w, Z)
  const zBytes = rz >= 0 ? 0 : align16(n * h * 8)
  reserve(w, floor - BASE + zBytes + h * 8)
  const z = rz >= 0 ? rz : floor
  const b = floor + zBytes
  if (rz < 0) f64.set(Z.length === n * h ? Z : Z.subarray(0, n * h), z >> 3)
  f64.set(bias.length === h ? bias : bias.subarray(0, h), b >> 3)
  kernel(z, b, n, h)
  if (rz < 0) Z.set(f64.subarray(z >> 3, (z >> 3) + n * h))
}

/**
 * `out[i] = x[i] + a·y[i]` for the first `out.length` entries, on the SIMD kernel: the same
 * bits as the JavaScript loop (one rounded multiply, one rounded add), laid out above any held
 * operand. `out` may be `x`.
 */
export function addScaledWasm(
  x: Float64Array,
  y: Float64Array,
  a: number,
  out: Float64Array,
): void {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('addScaledWasm: WebAssembly SIMD is unavailable')
  const len = out.length
  // x and y still in memory (a tape step's W1 and ∂W1): summed where they lie, into y's
  // place (each number is read before it is written), which then holds y no longer
  const xt = twinOf(x.length === len ? x : x.subarray(0, len))
  const yt = xt < 0 ? -1 : twinOf(y.length === len ? y : y.subarray(0, len))
  if (yt >= 0) {
    layouts++
    flushUnhomedOver(f64.buffer, yt, yt + len * 8)
    w.addScaled(xt, yt, a, yt, len)
    out.set(f64.subarray(yt >> 3, (yt >> 3) + len))
    return
  }
  const bytes = align16(len * 8)
  reserve(w, floor - BASE + 2 * bytes)
  const xo = floor
  const yo = xo + bytes
  f64.set(x.length === len ? x : x.subarray(0, len), xo >> 3)
  f64.set(y.length === len ? y : y.subarray(0, len), yo >> 3)
  w.addScaled(xo, yo, a, xo, len)
  out.set(f64.subarray(xo >> 3, (xo >> 3) + len))
}

/**
 * `addScaledWasm(x, y, a, out)` for the numbers `y` stands for (a token given to `keepViews`),
 * summed where they lie beside x (a tape step's W1: an array, or a lazy parameter's source
 * noted by `twinView`), y's numbers left there — returning true; false, computing nothing, when
 * memory no longer holds both. With `leave`, `out` (a kept sum's home) is not written: the sum
 * is left unhomed where it lies (see `unhomed`).
 */
export function addScaledTwinWasm(
  x: Float64Array | Numbers,
  y: object,
  a: number,
  out: Float64Array,
  leave = false,
): boolean {
  const w = wasm ?? loadWasm()
  const len = out.length
  if (!w || x.length !== len) return false
  const xt = twinOf(x)
  // both in this module's own memory (y kept in another is copied out by its reader instead)
  const ye = xt < 0 || keptMemory !== null ? null : keptOf(y)
  if (ye === null || ye.length !== len) return false
  const yt = ye.at
  // into x's place (each number is read before it is written), which then holds x no longer;
  // the kept numbers stay (none lies there), for a reader of y's data before the next layout (a
  // logger of the new state)
  layouts++
  keptAt = layouts
  // over x's place: an unhomed sum there goes home first, unless it is the one this sum replaces
  // in that same home (the step before's, summed over in place: it replays if read)
  const u = unhomed
  if (leave && u !== null && u.at === xt && u.home === out) unhomed = null
  else flushUnhomedOver(f64.buffer, xt, xt + len * 8)
  w.addScaled(xt, yt, a, xt, len)
  if (leave) {
    flushUnhomed() // one at a time
    unhomed = { at: xt, home: out, sum: null }
    unhomedSums.left++
  } else out.set(f64.subarray(xt >> 3, (xt >> 3) + len))
  sumAt = xt
  sumLength = len
  sumAtLayout = layouts
  return true
}

/**
 * The update's sum `addScaledTwinWasm` left where it wrote it (`leave`), not copied into its
 * home (`home`, a kept sum's: src/tensor/keptSums.ts): the next tape call reads it there, and
 * nothing else reads it in most steps. It goes home (`flushUnhomed`) before anything writes
 * over its bytes of own memory — every layout (`reserve`, `ownScratch`, the sums in place here),
 * the tape's arena (src/autodiff/tapeMemory.ts: another plan's buffers, a parameter copied in)
 * — or reads its home (keptSums.ts); and only while `sum` (the kept sum made of it, once it is
 * made) still lies in that home: else the home holds another sum by now.
 */
let unhomed: { at: number; home: Float64Array; sum: { lies(): boolean } | null } | null = null

/** Sums left unhomed, and those copied home later (tests). */
export const unhomedSums = { left: 0, homed: 0 }

/** Copies the unhomed sum into its home now, if it is still its home's (see `unhomed`). */
export function flushUnhomed(): void {
  const u = unhomed
  if (u === null) return
  unhomed = null
  if (u.sum !== null && !u.sum.lies()) return
  u.home.set(new Float64Array(own!.memory.buffer, u.at, u.home.length))
  unhomedSums.homed++
}

/** `flushUnhomed` before bytes [from, to) of `buffer` are written, if the sum lies there. */
export function flushUnhomedOver(buffer: ArrayBufferLike, from: number, to: number): void {
  const u = unhomed
  if (u !== null && buffer === own!.memory.buffer && from < u.at + u.home.length * 8 && u.at < to) {
    flushUnhomed()
  }
}

/** `flushUnhomed` before `home` is read or written, if the unhomed sum is its. */
export function flushUnhomedInto(home: Float64Array): void {
  if (unhomed !== null && unhomed.home === home) flushUnhomed()
}

/** Whether the unhomed sum's home is `home` (its numbers not copied there yet). */
export const isUnhomed = (home: Float64Array): boolean => unhomed !== null && unhomed.home === home

/** Names `sum` (kept in `home`) as the unhomed sum's, just made of it. */
export function claimUnhomed(sum: { lies(): boolean }, home: Float64Array): void {
  if (unhomed !== null && unhomed.home === home && unhomed.sum === null) unhomed.sum = sum
}

/** Where the last `addScaledTwinWasm` left its sum (a byte offset), and at which layout. */
let sumAt = -1
let sumLength = 0
let sumAtLayout = -1

/**
 * Notes `token` (what stands for the numbers the last `addScaledTwinWasm` returned: the kept sum
 * made of them) as their twin where that sum lies (its x's place: a tape's arena), until the next
 * layout; false when something was laid out since.
 */
export function twinLastSum(token: Numbers): boolean {
  if (sumAtLayout !== layouts || token.length !== sumLength) return false
  twin(token, sumAt)
  return true
}

/** The layout before the open arena's, and the arena's own (see `liesSinceOpen`). */
let beforeArena = -1
let arenaLayout = -1

/**
 * Whether `view` (of the open arena) holds `x`'s numbers since before the arena opened: `x` was
 * their twin there when it opened (a kept sum the update left in a tape's arena: `twinLastSum`)
 * and nothing but the arena's opening has been laid out since — so a tape call need not copy a
 * lazy parameter into the place where it already lies.
 */
export function liesSinceOpen(x: Numbers, view: Float64Array): boolean {
  const w = wasm
  if (!w || w !== own || !pinned || view.buffer !== w.memory.buffer) return false
  if (layouts !== arenaLayout || twinsAt !== beforeArena || x.length !== view.length) return false
  for (const t of twins) if (t.array === x) return t.at === view.byteOffset
  return false
}

/**
 * `Z[i, j] = max(0, Z[i, j] + bias[j])` in place for an n×h `Z` and h biases, in wasm: the
 * JavaScript loop's `v > 0 ? v : 0` bit for bit (NaN and −0 give +0), without its mispredicted
 * branch per entry.
 */
export function reluBiasWasm(Z: Float64Array, bias: Float64Array, n: number, h: number): void {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('reluBiasWasm: WebAssembly SIMD is unavailable')
  biasInPlace(w, w.reluBias, Z, bias, n, h)
}

/**
 * `D = G ⊙ act′` for an n×m layer from its activation's output `Y` (`act` 0: relu, 1: sigmoid,
 * 2: tanh; see assembly/gemm.ts `activationBack`), and with `sums` its column sums added into
 * `sums` row by row from the first (the bias gradient), in wasm: the JavaScript loops' bits.
 */
export function activationBackWasm(
  act: number,
  G: Float64Array,
  Y: Float64Array,
  D: Float64Array,
  n: number,
  m: number,
  sums: Float64Array | null,
): void {
  const w = wasm ?? loadWasm()
  if (!w) throw new Error('activationBackWasm: WebAssembly SIMD is unavailable')
  const len = n * m
  const bytes = align16(len * 8)
  // operands in linear memory (the tape's arena) are read, and D written, where they lie; else
  // G and Y are copied in and D computed over G's copy
  const rg = inMemory(w, G)
  const ry = inMemory(w, Y)
  const rd = inMemory(w, D)
  const gBytes = rg >= 0 ? 0 : bytes
  const yBytes = ry >= 0 ? 0 : bytes
  const dBytes = rd < 0 && rg >= 0 ? bytes : 0
  reserve(w, floor - BASE + gBytes + yBytes + dBytes + (sums === null ? 0 : m * 8))
  const g = rg >= 0 ? rg : floor
  const y = ry >= 0 ? ry : floor + gBytes
  const d = rd >= 0 ? rd : rg < 0 ? g : floor + gBytes + yBytes
  const s = sums === null ? 0 : floor + gBytes + yBytes + dBytes
  if (rg < 0) f64.set(G.length === len ? G : G.subarray(0, len), g >> 3)
  if (ry < 0) f64.set(Y.length === len ? Y : Y.subarray(0, len), y >> 3)
  if (sums !== null) f64.set(sums.subarray(0, m), s >> 3)
  w.activationBack(act, g, y, d, n, m, s)
  if (rd < 0) D.set(f64.subarray(d >> 3, (d >> 3) + len))
  if (sums !== null) sums.set(f64.subarray(s >> 3, (s >> 3) + m))
}

/**
 * Opens the tape's arena (autodiff/tapeMemory.ts): `bytes` at the bottom of linear memory, with
 * `headroom` more reserved above it for the kernels' layouts, which start past it until
 * `closeArena`. Returns its byte offset, or −1 (no wasm, an arena already open, an operand held,
 * memory that cannot grow). While it is open memory never grows (a growth would detach the
 * arena's views): a kernel that would need more fails with a RangeError, and its caller falls
 * back to JavaScript.
 */
export function openArena(bytes: number, headroom: number): number {
  const w = wasm ?? loadWasm()
  if (!w || pinned || floor !== bottom) return -1
  const size = align16(bytes)
  beforeArena = layouts
  try {
    // nothing written yet: the tape writes its buffers (src/autodiff/tapeMemory.ts)
    reserve(w, bottom - BASE + size + headroom, true, Infinity)
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
    return -1
  }
  base = floor = bottom + size
  pinned = true
  arenaLayout = layouts
  peak = 0 // the kernels' layouts above the arena, not the arena
  return bottom
}

/** The buffer the kernels' memory has now (an arena's views made earlier view another if not). */
export function arenaBuffer(): ArrayBufferLike {
  return (wasm ?? loadWasm())!.memory.buffer
}

/** A view of `length` numbers of linear memory from byte `at` (in an open arena). */
export function arenaView(at: number, length: number): Float64Array {
  return new Float64Array(wasm!.memory.buffer, at, length)
}

/** Closes the arena `openArena` opened: kernels lay out from the bottom again, memory may grow. */
export function closeArena(): void {
  if (!pinned) return
  base = floor = bottom
  pinned = false
  lowerBottom()
}

/** The most bytes the kernels laid out above their bottom since the last call (then reset). */
export function scratchPeak(): number {
  const p = peak
  peak = 0
  return p
}
