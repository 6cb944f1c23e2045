/**
 * Products on two threads: the caller's and one helper worker, both running the same WebAssembly
 * kernels (gemm.ts compiled for a shared memory, sharedWasmBinary.ts) over one shared
 * WebAssembly.Memory. The caller lays the operands out (as wasmKernels.ts does in its own memory),
 * posts the helper's half of C's rows in a control block, computes its own half, and waits for
 * the helper with Atomics.wait. Each row of C is computed by the same kernel code as on one
 * thread, so the result is the same bit for bit.
 *
 * Blocking waits need a thread that may block: Node's main thread and workers may; a browser's
 * main thread may not (and has no worker_threads): there `startHelper` fails and products stay
 * on one thread.
 */
import {
  afterHold,
  align16,
  blockBytes,
  ceilingOf,
  compressRows,
  gatherRows,
  heldLayout,
  noteLayout,
  packsA,
  packsB,
  paddedStride,
  placeB,
  placePadded,
  setCeiling,
  sparseLayout,
  type HeldSparse,
  type KernelExports,
  type RowEntries,
  useKernels,
} from '../tensor/kernels/wasmKernels.js'
import { wasmBytes } from '../tensor/kernels/wasmBytes.js'
import { SHARED_WASM_BASE64 } from './sharedWasmBinary.js'

/**
 * The shared module's exports: the same functions as the private one's (gemm.ts compiled twice),
 * without its own memory (the shared one is imported).
 */
type SharedExports = Omit<KernelExports, 'memory'>

/** Rows the sparse kernel walks B's columns for at a time (gemm.ts CSR_ROWS). */
const CSR_ROWS = 128
/** Operands are laid out from byte 65,536 on (page 0 is the module's). */
const BASE = 65536
/** The shared memory's maximum, as compiled (build.mjs SHARED_ASC_ARGS): 1 GiB. */
const MAX_PAGES = 16384

// The control block (Int32Array): the helper sleeps on SEQ, runs OP with ARGS, stores the SEQ it
// ran in DONE and wakes the caller.
const SEQ = 0
const OP = 1
const ARGS = 2 // … 13
const DONE = 14
const READY = 15
const FAILED = 16
/** csrRows' count from the helper's OP_CSR_ROWS (−1: over maxNnz) */
const RESULT = 17
/**
 * Extra polls the helper makes after the job it is given (set before `post`, read when the job
 * starts): for a caller that will post again soon (a training step's next kernel) and would
 * rather not pay a futex wake.
 */
export const SPIN_AFTER = 18
const OP_GEMM = 1
const OP_CSR = 2
const OP_EXIT = 3
/** compress rows (csrRows), then multiply them (gemmCsr) unless over maxNnz */
const OP_CSR_ROWS = 4
/** gemmPacked on operands the caller packed (its twelve arguments fill ARGS … ARGS + 11) */
const OP_GEMM_PACKED = 7
/** gemmCsrLd (a held operand's rows times a right operand with padded rows) */
const OP_CSR_LD = 8
/**
 * A product's rows in chunks that either thread takes (splitKernels): CARGS holds the kernel (one
 * of OP_GEMM, OP_GEMM_PACKED, OP_CSR, OP_CSR_LD, OP_CSR_PAIRS) and its arguments for all rows; the chunks'
 * first rows are at BOUNDS. A thread takes the next chunk from NEXT, which also holds the job's
 * sequence number (so a thread late for a job takes nothing of the next) and its count of chunks,
 * and adds one to FIN when it has computed it.
 */
const OP_CHUNKS = 9
/** gemmCsrPairs (a held operand's columns two by two), as a chunk kernel only */
const OP_CSR_PAIRS = 10
/** gemmCsrLd in slices of C's columns (gemmCsrLdc), as a chunk kernel only: BOUNDS are columns */
const OP_CSR_LD_COLS = 11
const NEXT = 19
const FIN = 20
/**
 * Microseconds the helper polls on after each job (and after being woken with no job) while a
 * step runs on the shared memory (`onSharedMemory` sets it, 0 outside): a step's products come
 * a few hundred microseconds apart, and a futex wake costs tens of microseconds on a VM, more
 * than a split saves. Read at every poll, so the helper sleeps as soon as the step ends.
 */
const STEP = 21
/**
 * The helper's thread id (Linux; 0 elsewhere), stored before READY: where the chooser reads how
 * long it waited for a core (autoThreads.ts `coreWaitMs`)
 */
const TID = 23
/**
 * An elementwise pass of the optimizer (src/engine/wasmPass.ts), as a chunk kernel only: its
 * module and memory registered under the id at CARGS + 1 (`passId`), its CARGS + 2 arguments in
 * the f64 block (`PassJob.args`); BOUNDS are byte offsets into its regions.
 */
const OP_PASS = 12
/**
 * gemmPacked whose A is not packed yet, as a chunk kernel only: each chunk packs its own rows of
 * A (packA over rows r0… of its 4-row blocks, a copy) before multiplying them, so the packing
 * splits with the product (splitKernels defers packA to the gemmPacked that reads it)
 */
const OP_GEMM_PACKED_A = 13
const MAX_CHUNKS = 16
const BOUNDS = 24 // … BOUNDS + MAX_CHUNKS
const CARGS = BOUNDS + MAX_CHUNKS + 1 // the kernel, then its arguments: … CARGS + 12
const CTRL_INTS = CARGS + 13
export { OP_CSR, RESULT }

/**
 * Polls before sleeping: a product's halves finish within microseconds of each other, and a
 * futex wake costs tens of microseconds on a VM. About 20–50 µs of polling.
 */
const SPIN = 4000

/**
 * The chunk runner, one source for both threads (the helper evaluates it; this thread gets it
 * through `new Function`): `takeChunks(k, c, seq, pass)` takes chunks of job `seq` from `c`'s NEXT
 * until none is left, computes each with kernels `k` (or `pass`, for an optimizer's pass) and
 * counts it in FIN (waking a thread waiting for the last). A chunk's rows r0…r1 of C: the
 * kernel's arguments moved to row r0 as splitting its rows anywhere moves them (dense chunks
 * start at multiples of 4: the packed A's blocks); a pass's chunk: bytes r0…r1 of each region.
 */
const CHUNK_RUNNER = `
function takeChunks(k, c, seq, pass) {
  const tag = seq & 0x7fff
  const a = ${CARGS + 1}
  for (;;) {
    // NEXT: the job's tag, its count of chunks and the next chunk (bits 16…30, 8…15, 0…7)
    const v = Atomics.load(c, ${NEXT})
    if (v >>> 16 !== tag || (v & 0xff) >= ((v >> 8) & 0xff)) return
    if (Atomics.compareExchange(c, ${NEXT}, v, v + 1) !== v) continue
    // taken: the job stays this one (and its arguments unchanged) until this chunk is counted
    const count = (v >> 8) & 0xff
    const i = v & 0xff
    const kernel = c[${CARGS}]
    const r0 = c[${BOUNDS} + i]
    const rows = c[${BOUNDS} + i + 1] - r0
    try {
      if (kernel === ${OP_GEMM}) k.gemm(c[a] + r0 * c[a + 6] * 8, c[a + 1], c[a + 2] + r0 * c[a + 5] * 8, rows, c[a + 4], c[a + 5], c[a + 6], c[a + 7])
      else if (kernel === ${OP_GEMM_PACKED_A}) {
        k.packA(c[a] + r0 * c[a + 8] * 8, rows, c[a + 6], c[a + 8], c[a + 9], c[a + 1] + (r0 >> 2) * 32 * c[a + 6])
        k.gemmPacked(c[a] + r0 * c[a + 8] * 8, c[a + 1] + (r0 >> 2) * 32 * c[a + 6], c[a + 2], c[a + 3], c[a + 4] + r0 * c[a + 7] * 8, rows, c[a + 6], c[a + 7], c[a + 8], c[a + 9], c[a + 10], c[a + 11])
      }
      else if (kernel === ${OP_GEMM_PACKED}) k.gemmPacked(c[a] + r0 * c[a + 8] * 8, c[a + 1] === 0 ? 0 : c[a + 1] + (r0 >> 2) * 32 * c[a + 6], c[a + 2], c[a + 3], c[a + 4] + r0 * c[a + 7] * 8, rows, c[a + 6], c[a + 7], c[a + 8], c[a + 9], c[a + 10], c[a + 11])
      else if (kernel === ${OP_CSR}) k.gemmCsr(c[a] + r0 * 4, c[a + 1], c[a + 2], c[a + 3], c[a + 4] + r0 * c[a + 6] * 8, rows, c[a + 6])
      // pairs of rows: a chunk starts at an even row, pair r0 / 2
      else if (kernel === ${OP_CSR_PAIRS}) k.gemmCsrPairs(c[a] + (r0 >> 1) * 4, c[a + 1], c[a + 2], c[a + 3], c[a + 4] + r0 * c[a + 6] * 8, rows, c[a + 6], c[a + 7])
      // a slice of columns r0 … r0 + rows (B's and C's first column moved, C's rows n apart)
      else if (kernel === ${OP_CSR_LD_COLS}) k.gemmCsrLdc(c[a], c[a + 1], c[a + 2], c[a + 3] + r0 * 8, c[a + 4] + r0 * 8, c[a + 5], rows, c[a + 7], c[a + 6])
      else if (kernel === ${OP_PASS}) pass(r0, rows)
      else k.gemmCsrLd(c[a] + r0 * 4, c[a + 1], c[a + 2], c[a + 3], c[a + 4] + r0 * c[a + 6] * 8, rows, c[a + 6], c[a + 7])
    } catch (e) {
      Atomics.store(c, ${FAILED}, 1)
    }
    if (Atomics.add(c, ${FIN}, 1) + 1 === count) Atomics.notify(c, ${FIN})
  }
}
`

/** The chunk runner on this thread (see CHUNK_RUNNER). */
const takeChunks = new Function(`${CHUNK_RUNNER}\nreturn takeChunks`)() as (
  k: SharedExports,
  c: Int32Array,
  seq: number,
  pass?: (from: number, bytes: number) => void,
) => void

/** Numbers a pass may take (its f64 block's length). */
const MAX_PASS_ARGS = 64

/**
 * Bytes of the shared memory a new helper writes once and warms its kernels in, at least (a step
 * as W5's lays out about this much: its layer of 784×256 weights, their products and its arena).
 */
const WARM_BYTES = 8 << 20
/**
 * Bytes a new helper writes at most: the kernels' own memory grows to the largest product seen
 * (a test set's predictions, say), more than a training step needs
 */
const MAX_WARM_BYTES = 64 << 20

/** The helper's start (tests and benchmarks may change it before a helper starts). */
export const helperTuning = {
  /**
   * the rows of the made-up batch in each round of the helper's warm (see WARM): V8 optimizes a
   * kernel once it has run a while, for its later calls, so rounds of a few rows get each kernel
   * there at a fraction of a batch's unoptimized cost (a batch's round was most of the warm), and
   * the last round, a batch's rows, runs optimized code
   */
  warmRounds: [16, 16, 128] as readonly number[],
}

/**
 * The helper's first work, before it says it is ready (the caller touches nothing of the shared
 * memory until then): it grows the memory to `bytes` past BASE and writes each page once, and
 * runs each kernel a step runs on made-up operands of a layer's size there, a round per entry of
 * `helperTuning.warmRounds` (the batch's rows in it). Both are costs of a step's first run on two
 * threads otherwise — a fault for every fresh page (the operands of a step as W5's span
 * thousands), and kernels that V8 runs unoptimized until they have run a while (the module,
 * shared with the caller's instance, keeps the optimized code) — which this moves onto the
 * helper's idle core while the caller's steps run on one thread. The made-up operands are
 * overwritten by the first layouts; a kernel that fails here is only not warmed. Lighter warms
 * gained nothing (W5 under 'auto', issue 21, session 18): the pages alone, or nothing, made the
 * helper ready sooner but its first two-thread steps slower.
 */
const WARM = `
function warm(k, memory, bytes, rounds) {
  const have = memory.buffer.byteLength
  if (${BASE} + bytes > have) memory.grow(Math.ceil((${BASE} + bytes - have) / 65536))
  const I = new Int32Array(memory.buffer)
  const F = new Float64Array(memory.buffer)
  for (let p = ${BASE} >> 2; p < I.length; p += 1024) I[p] = 0
  // a batch of 128 rows of 784 (one in five entries non-zero) times 784×256, 256×128 after it
  const K = 784, n = 256, ldb = n + 4, h = 128, maxNnz = 32768
  let m = 128
  let at = ${BASE}
  const take = (b) => { const r = at; at += (b + 15) & ~15; return r }
  const a = take(m * K * 8), rp = take((m + 1) * 4), ci = take(maxNnz * 4), v = take(maxNnz * 8)
  const trp = take((K + 1) * 4), tci = take(maxNnz * 4), tv = take(maxNnz * 8)
  const prp = take((K + 3) * 2), pci = take(maxNnz * 4), pv = take(maxNnz * 16)
  const b = take(K * ldb * 8), c = take(m * ldb * 8), d = take(K * ldb * 8), w2 = take(n * h * 8)
  const out = take(m * h * 8), pk = take(n * h * 8), pa = take(m * n * 8), bias = take(n * 8)
  if (at > I.length * 4) return
  // \`length\` numbers from byte \`to\` on, repeating f(0 … period − 1): written by copies that double
  // (a new thread runs its loops unoptimized at first)
  const fill = (to, length, period, f) => {
    const o = to >> 3
    for (let i = 0; i < period; i++) F[o + i] = f(i)
    for (let done = period; done < length; done *= 2) F.copyWithin(o + done, o, o + Math.min(done, length - done))
  }
  fill(a, m * K, 5, (i) => (i === 0 ? 0.5 : 0))
  fill(b, K * ldb, 7, (i) => i * 0.01)
  fill(w2, n * h, 3, (i) => i * 0.01)
  const runs = [
    () => k.csrRows(a, m, K, maxNnz, rp, ci, v),
    () => k.csrTranspose(rp, ci, v, m, K, trp, tci, tv),
    () => k.csrPairs(trp, tci, tv, K, prp, pci, pv),
    () => k.allFinite(b, K * ldb),
    () => k.gemmCsrLd(rp, ci, v, b, c, m, n, ldb),
    () => k.gemmCsrLdc(rp, ci, v, b, c, m, 126, ldb, n),
    () => k.gemmCsr(rp, ci, v, b, c, m, n),
    () => k.reluBias(c, bias, m, n),
    () => k.sigmoidBias(c, bias, m, n),
    () => k.activationBack(0, c, c, c, m, n, bias),
    () => k.activationBack(1, c, c, c, m, n, 0),
    () => k.mulSigmoidGrad(c, c, m * n),
    () => k.colSums(c, m, n, bias),
    () => k.addRowBias(c, bias, m, n),
    () => k.gemmCsrPairs(prp, pci, pv, c, d, K, n, ldb),
    () => k.gemmCsrLd(trp, tci, tv, c, d, K, n, ldb),
    () => k.packB(w2, n, h, h, 1, pk),
    () => k.packA(c, m, n, n, 1, pa),
    () => k.gemmPacked(c, pa, pk, w2, out, m, n, h, n, 1, h, 1),
    () => k.gemmPacked(c, 0, pk, w2, out, m, n, h, 1, m, h, 1),
    () => k.gemm(c, w2, out, m, n, h, n, 1),
    () => k.padRows(d, 256, 128, 132),
  ]
  // a round per entry of \`rounds\`, its rows of the batch (helperTuning.warmRounds)
  for (const rows of rounds) {
    m = Math.min(128, Math.max(1, rows | 0))
    for (const f of runs) {
      try { f() } catch {}
    }
  }
}
`

/** The helper thread's program (a CommonJS script run with `eval`). */
const HELPER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads')
const { module, memory, ctrl: sab, spin, warmBytes, warmRounds, port, passArgs } = workerData
const c = new Int32Array(sab)
// optimizer passes (OP_PASS): their instances by id, registered through the port before the job
const passes = new Map()
const pa = new Float64Array(passArgs)
const pargs = []
function pass(from, bytes) {
  const id = c[${CARGS + 1}]
  let p = passes.get(id)
  while (p === undefined) {
    const m = receiveMessageOnPort(port)
    if (m === undefined) throw new Error('pass ' + id + ': not registered')
    const r = m.message
    const fn = new WebAssembly.Instance(r.module, { env: { memory: r.memory } }).exports.pass
    passes.set(r.id, { fn, addr: r.addr })
    p = passes.get(id)
  }
  const n = c[${CARGS + 2}]
  pargs.length = n
  pargs[0] = bytes
  for (let i = 1; i < n; i++) pargs[i] = p.addr[i] ? pa[i] + from : pa[i]
  p.fn(...pargs)
}
let k
try {
  k = new WebAssembly.Instance(module, { env: { memory } }).exports
} catch (e) {
  Atomics.store(c, ${FAILED}, 1)
  Atomics.store(c, ${READY}, 1)
  Atomics.notify(c, ${READY})
  throw e
}
try {
  const self = require('node:fs').readlinkSync('/proc/thread-self')
  c[${TID}] = Number(self.slice(self.lastIndexOf('/') + 1)) | 0
} catch {}
${WARM}
try {
  warm(k, memory, warmBytes, warmRounds)
} catch {}
Atomics.store(c, ${READY}, 1)
Atomics.notify(c, ${READY})
let seen = 0 // the caller posts job 1 first, possibly before this line runs
let extra = 0
${CHUNK_RUNNER}
// polls SEQ while a step runs (STEP), at most STEP µs from now; returns SEQ
function stepPolls() {
  let s = Atomics.load(c, ${SEQ})
  const until = performance.now() + Atomics.load(c, ${STEP}) / 1000
  for (let i = 1; s === seen && Atomics.load(c, ${STEP}) > 0; i++) {
    if ((i & 255) === 0 && performance.now() > until) break
    s = Atomics.load(c, ${SEQ})
  }
  return s
}
for (;;) {
  let s = Atomics.load(c, ${SEQ})
  for (let i = 0, e = spin + extra; s === seen && i < e; i++) s = Atomics.load(c, ${SEQ})
  if (s === seen && Atomics.load(c, ${STEP}) > 0) s = stepPolls()
  while (s === seen) {
    Atomics.wait(c, ${SEQ}, seen)
    s = Atomics.load(c, ${SEQ})
    // woken without a job: a step starts, whose first product comes after its operands' layout
    if (s === seen && Atomics.load(c, ${STEP}) > 0) s = stepPolls()
  }
  seen = s
  const op = c[${OP}]
  extra = c[${SPIN_AFTER}]
  if (op === ${OP_EXIT}) break
  try {
    if (op === ${OP_GEMM}) k.gemm(c[${ARGS}], c[${ARGS + 1}], c[${ARGS + 2}], c[${ARGS + 3}], c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}], c[${ARGS + 7}])
    else if (op === ${OP_GEMM_PACKED}) k.gemmPacked(c[${ARGS}], c[${ARGS + 1}], c[${ARGS + 2}], c[${ARGS + 3}], c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}], c[${ARGS + 7}], c[${ARGS + 8}], c[${ARGS + 9}], c[${ARGS + 10}], c[${ARGS + 11}])
    else if (op === ${OP_CHUNKS}) takeChunks(k, c, seen, pass)
    else if (op === ${OP_CSR_LD}) k.gemmCsrLd(c[${ARGS}], c[${ARGS + 1}], c[${ARGS + 2}], c[${ARGS + 3}], c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}], c[${ARGS + 7}])
    else if (op === ${OP_CSR}) k.gemmCsr(c[${ARGS}], c[${ARGS + 1}], c[${ARGS + 2}], c[${ARGS + 3}], c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}])
    else {
      const r = k.csrRows(c[${ARGS}], c[${ARGS + 1}], c[${ARGS + 2}], c[${ARGS + 3}], c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}])
      if (r >= 0) k.gemmCsr(c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}], c[${ARGS + 7}], c[${ARGS + 8}], c[${ARGS + 1}], c[${ARGS + 9}])
      c[${RESULT}] = r
    }
  } catch (e) {
    Atomics.store(c, ${FAILED}, 1)
  }
  Atomics.store(c, ${DONE}, seen)
  Atomics.notify(c, ${DONE})
}
`

export interface Helper {
  readonly worker: { terminate(): unknown }
  readonly ctrl: Int32Array
  /** registers optimizer passes with the helper (`passId`), read there synchronously */
  readonly port: { postMessage(m: unknown): void }
  /** an optimizer pass's arguments (OP_PASS) */
  readonly passArgs: Float64Array
  /** ids of the passes registered, per memory and module */
  readonly passIds: WeakMap<WebAssembly.Memory, WeakMap<WebAssembly.Module, number>>
  readonly memory: WebAssembly.Memory
  readonly k: SharedExports
  seq: number
  /** the kernels over the shared memory with their row kernels split (`splitKernels`), once made */
  split?: KernelExports
  /** wakes the helper if it sleeps (run by a step's hold: `onSharedMemory`), once made */
  wake?: () => void
}

let helper: Helper | null = null
let f64 = new Float64Array(0)
let i32 = new Int32Array(0)
/** Where products lay out their operands: BASE, or past a held operand (`holdShared`). */
let floor = BASE

/**
 * The crossover, below which a product goes back to gemmKernel's single-thread kernels
 * (`gemmTwoThreads` returns false). Measured with bench/parallelKernels.bench.ts on this project's
 * 2-vCPU VM when it was quiet (bench/RESULTS.md, "Both cores"): dense products from 25×784·784×50
 * ran 1.4–1.7× faster split, sparse image batches from 50 rows 1.3–1.4×, while Aᵀ·B with a sparse
 * A (compressed and transposed on the caller alone) lost up to 100×784 images. On a loaded
 * machine the hand-over (a futex wake) costs 30–300 µs and every split under ~10⁸
 * multiply-adds lost 10–30%: that is what `setKernelThreads(1)` is for.
 */
export const tuning = {
  /** dense products of fewer multiply-adds (m·k·n) stay on the single-thread kernels */
  denseMinWork: 1 << 20,
  /** A·B with a sparse A: fewer m·k·n (counted dense; 2·2²⁰ ≈ 54×784 images times 784×50) */
  sparseMinWork: 1 << 21,
  /** Aᵀ·B with a sparse A: fewer m·k·n stay (8·2²⁰ ≈ 214 images) */
  transposedSparseMinWork: 1 << 23,
}

/**
 * Starts the helper thread and waits (blocking, at most `timeoutMs`) until it has instantiated
 * the kernels. Returns false where that is impossible (no worker_threads, no shared memory or
 * wasm threads, a thread that may not block) or it failed; products then stay on one thread.
 */
export function startHelper(timeoutMs = 10_000): boolean {
  if (helper !== null) return true
  spawnHelper()
  const s = starting
  starting = null
  if (s === null) return false
  const t0 = Date.now()
  while (Atomics.load(s.ctrl, READY) !== 1 && Date.now() - t0 < timeoutMs) {
    Atomics.wait(s.ctrl, READY, 0, 50)
  }
  if (Atomics.load(s.ctrl, READY) !== 1 || s.ctrl[FAILED] !== 0) {
    void s.worker.terminate()
    return false
  }
  helper = s
  return true
}

/** A helper thread started by `spawnHelper` that `startHelper` has not waited for yet. */
let starting: Helper | null = null

/**
 * Whether the helper runs, or has started (`spawnHelper`) and is ready now: then it runs from
 * here on. Never waits.
 */
export function helperReady(): boolean {
  if (helper !== null) return true
  if (starting === null || Atomics.load(starting.ctrl, READY) !== 1) return false
  return startHelper()
}

/**
 * Starts the helper thread without waiting for it: a worker takes tens to hundreds of
 * milliseconds to start, which `startHelper` then waits for only if it is not ready by then.
 * Before it is ready the helper writes the shared memory's first `memoryBytes` (at least
 * WARM_BYTES, at most MAX_WARM_BYTES) once and warms its kernels (see WARM): a caller that knows
 * how much a step lays out (its own memory's size after a step on one thread) passes it. Does
 * nothing where a helper runs or is starting, or where none can start.
 */
export function spawnHelper(memoryBytes = 0): void {
  if (helper !== null || starting !== null) return
  try {
    const proc = (globalThis as { process?: NodeJS.Process }).process
    if (typeof proc?.getBuiltinModule !== 'function') return
    const wt = proc.getBuiltinModule('node:worker_threads')
    const module = new WebAssembly.Module(wasmBytes(SHARED_WASM_BASE64))
    const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true })
    const k = new WebAssembly.Instance(module, { env: { memory } })
      .exports as unknown as SharedExports
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS))
    const passArgs = new Float64Array(new SharedArrayBuffer(8 * MAX_PASS_ARGS))
    const { port1, port2 } = new wt.MessageChannel()
    port1.unref()
    const worker = new wt.Worker(HELPER, {
      eval: true,
      execArgv: [],
      // the helper prints nothing: unpiped, its start does not make this thread's stdio streams
      stdout: true,
      stderr: true,
      workerData: {
        module,
        memory,
        ctrl: ctrl.buffer,
        spin: SPIN,
        warmBytes: Math.min(Math.max(memoryBytes, WARM_BYTES), MAX_WARM_BYTES),
        warmRounds: helperTuning.warmRounds,
        port: port2,
        passArgs: passArgs.buffer,
      },
      transferList: [port2],
    })
    worker.unref()
    // a failure is reported in FAILED as well; the listener only keeps it from being unhandled
    worker.on('error', () => Atomics.store(ctrl, FAILED, 1))
    starting = { worker, ctrl, memory, k, seq: 0, port: port1, passArgs, passIds: new WeakMap() }
  } catch {
    starting = null
  }
}

/** Ends the helper thread (it exits at once; no wait). */
export function stopHelper(): void {
  if (starting !== null) void starting.worker.terminate()
  starting = null
  const h = helper
  if (h === null) return
  helper = null
  f64 = new Float64Array(0)
  i32 = new Int32Array(0)
  floor = BASE
  h.ctrl[OP] = OP_EXIT
  Atomics.store(h.ctrl, SEQ, h.seq + 1)
  Atomics.notify(h.ctrl, SEQ)
  void h.worker.terminate()
}

/**
 * What `setKernelThreads` asked for (`'auto'`, the default: a training step measures which
 * is faster, autoThreads.ts), and whether the helper could start for an explicit 2.
 */
export const threadState = {
  requested: 'auto' as 1 | 2 | 'auto',
  available: false,
  /** the thread count the last differentiated call ran on (tapeThreads.ts) */
  stepRan: 1 as 1 | 2,
}

/** The thread count an explicit `setKernelThreads(1 | 2)` gives: 2 where the helper started. */
export function explicitThreads(): 1 | 2 {
  return threadState.requested === 2 && threadState.available ? 2 : 1
}

/**
 * The helper for a split piece of work: the running one, or — while two threads are asked for —
 * one started again after `closeWorkers` closed it; null when there is none to be had.
 */
export function wantedHelper(): Helper | null {
  if (helper === null && threadState.requested === 2) startHelper()
  return helper
}

/** The running helper's thread id where the system gives one (Linux), else 0. */
export function helperThreadId(): number {
  return helper === null ? 0 : helper.ctrl[TID]
}

/** True while the helper runs. */
export function helperRunning(): boolean {
  return helper !== null
}

/** The memory the kernels share with the running helper, or null. */
export function helperMemory(): WebAssembly.Memory | null {
  return helper?.memory ?? null
}

/** Makes the memory hold `bytes` from BASE on and refreshes the views after growth. */
function reserve(h: Helper, bytes: number): void {
  noteLayout(h.memory) // what the tape left there (wasmKernels.ts keepViews) is overwritten
  const need = BASE + bytes
  if (need > ceilingOf(h.memory)) throw new RangeError('shared memory: over its ceiling')
  const have = h.memory.buffer.byteLength
  if (need > have) h.memory.grow(Math.ceil((need - have) / 65536))
  if (f64.length * 8 !== h.memory.buffer.byteLength) {
    f64 = new Float64Array(h.memory.buffer)
    i32 = new Int32Array(h.memory.buffer)
  }
}

/**
 * Where an optimizer's pass may keep its numbers in the memory shared with the helper (a byte
 * offset): the upper half of it (MAX_PAGES), above what the kernels lay out.
 */
const BAND_AT = (MAX_PAGES << 16) >>> 1

/** The owner of the band of each helper's memory (one for the memory's life). */
const bandOwners = new WeakMap<WebAssembly.Memory, object>()

/**
 * The memory the kernels share with the helper thread, for `owner` (an optimizer pass's memory,
 * src/engine/wasmPass.ts) to keep its numbers in from byte `at` on: a step's products and its
 * pass then read each other's arrays where they lie (θ, the tape's ∂W) instead of copying them
 * from one memory into another. From then on the kernels lay out below `at` only (a larger
 * layout is a RangeError there: one thread serves it). Null when no helper runs, or the band is
 * another owner's, or the kernels have laid out past `at` already.
 */
export function claimBand(owner: object): { memory: WebAssembly.Memory; at: number } | null {
  const h = helper
  if (h === null) return null
  const memory = h.memory
  const held = bandOwners.get(memory)
  if (held !== undefined && held !== owner) return null
  if (held === undefined) {
    if (memory.buffer.byteLength > BAND_AT) return null
    bandOwners.set(memory, owner)
    setCeiling(memory, BAND_AT)
  }
  return { memory, at: BAND_AT }
}

export function post(h: Helper, op: number, args: readonly number[]): void {
  const c = h.ctrl
  c[OP] = op
  for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i]
  h.seq = (h.seq + 1) | 0 || 1 // never 0, the helper's starting value
  Atomics.store(c, SEQ, h.seq)
  Atomics.notify(c, SEQ, 1)
}

export function join(h: Helper): void {
  const c = h.ctrl
  for (let i = 0; i < SPIN && Atomics.load(c, DONE) !== h.seq; i++);
  for (let d = Atomics.load(c, DONE); d !== h.seq; d = Atomics.load(c, DONE)) {
    Atomics.wait(c, DONE, d)
  }
  if (c[FAILED] !== 0) throw new Error('gemm: the helper thread failed')
}

/**
 * gemmKernel's `largeProducts.run` while two threads are asked for: `C = op(A)·op(B)` with C's
 * rows split between this thread and the helper (restarted if `closeWorkers` closed it), the
 * sparse kernel when `trySparse` and `op(A)` has at most `maxNnz` non-zeros (and, with `finiteB`,
 * B is finite), else the dense one. Returns false, computing nothing, when there is no helper, the
 * product is below the crossover (`tuning`) or the memory cannot grow.
 */
export function runLarge(
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
): boolean {
  const h = wantedHelper()
  if (h === null) return false
  const min = !trySparse
    ? tuning.denseMinWork
    : transA
      ? tuning.transposedSparseMinWork
      : tuning.sparseMinWork
  if (m * k * n < min) return false
  try {
    if (!(trySparse && sparse(h, A, B, C, m, k, n, transA, transB, maxNnz, finiteB))) {
      dense(h, A, B, C, m, k, n, transA, transB)
    }
    return true
  } catch (e) {
    if (e instanceof RangeError) return false // the memory could not grow
    throw e
  }
}

function dense(
  h: Helper,
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  const aBytes = align16(m * k * 8)
  const bBytes = align16(k * n * 8)
  const cBytes = align16(m * n * 8)
  // packed as gemmDenseWasm packs (here, before the split: both threads read the panels)
  const pBytes = packsB(m, k, n, transA, transB) ? align16(k * (n & ~3) * 8) : 0
  const paBytes = pBytes > 0 && packsA(m, k, transA) ? align16((m & ~3) * k * 8) : 0
  reserve(h, floor - BASE + aBytes + bBytes + cBytes + pBytes + paBytes)
  const a = floor
  const b = a + aBytes
  const c = b + bBytes
  f64.set(A.length === m * k ? A : A.subarray(0, m * k), a >> 3)
  const sai = transA ? 1 : k
  const sap = transA ? m : 1
  // the helper's rows start at a multiple of 4: every row stays in the same 4-row block
  const i0 = m * k * n < tuning.denseMinWork ? m : Math.min(m, Math.round(m / 8) * 4)
  if (pBytes > 0) {
    const pk = c + cBytes
    f64.set(B.length === k * n ? B : B.subarray(0, k * n), b >> 3)
    const sbp = transB ? 1 : n
    const sbj = transB ? k : 1
    h.k.packB(b, k, n, sbp, sbj, pk)
    const pka = paBytes > 0 ? pk + pBytes : 0
    if (pka !== 0) h.k.packA(a, m, k, sai, sap, pka)
    // the helper's rows from i0 (a multiple of 4): their block of packed A starts (i0 / 4)·32·k on
    const pka2 = pka === 0 ? 0 : pka + (i0 >> 2) * 32 * k
    if (i0 < m) {
      post(h, OP_GEMM_PACKED, [
        a + i0 * sai * 8,
        pka2,
        pk,
        b,
        c + i0 * n * 8,
        m - i0,
        k,
        n,
        sai,
        sap,
        sbp,
        sbj,
      ])
    }
    if (i0 > 0) h.k.gemmPacked(a, pka, pk, b, c, i0, k, n, sai, sap, sbp, sbj)
  } else {
    placeB(f64, B, k, n, transB, b)
    if (i0 < m) post(h, OP_GEMM, [a + i0 * sai * 8, b, c + i0 * n * 8, m - i0, k, n, sai, sap])
    h.k.gemm(a, b, c, i0, k, n, sai, sap)
  }
  if (i0 < m) join(h)
  C.set(f64.subarray(c >> 3, (c >> 3) + m * n))
}

/**
 * The row at which `share` of a CSR product's work — each row's non-zeros plus one for the row —
 * is done (half by default): rows before it go to one thread, the rest to the other. `rp` is the
 * byte offset of the m + 1 row pointers in the memory `i32` views.
 */
export function workCutRow(i32: Int32Array, rp: number, m: number, share = 0.5): number {
  const p = rp >> 2
  const first = i32[p]
  const total = i32[p + m] - first + m
  let lo = 0
  let hi = m
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (i32[p + mid] - first + mid < share * total) lo = mid + 1
    else hi = mid
  }
  return lo
}

function sparse(
  h: Helper,
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  maxNnz: number,
  finiteB: boolean,
): boolean {
  const rows = transA ? k : m
  const cols = transA ? m : k
  const { a, rp, ci, v, b, c, trp, tci, tv, rpBytes, ciBytes, vBytes, bytes } = sparseLayout(
    m,
    k,
    n,
    transA,
    maxNnz,
    floor,
    align16(rows * cols * 8),
  )
  reserve(h, floor - BASE + bytes)
  placeB(f64, B, k, n, transB, b)
  if (finiteB && h.k.allFinite(b, k * n) === 0) return false
  f64.set(A.length === rows * cols ? A : A.subarray(0, rows * cols), a >> 3)
  if (!transA) {
    // each thread compresses and multiplies its own half of A's rows (compressing costs about
    // as much as multiplying); the halves' counts then decide as csrRows over all rows would
    const i0 = m >> 1
    const rp2 = c + align16(m * n * 8)
    const ci2 = rp2 + rpBytes
    const v2 = ci2 + ciBytes
    reserve(h, v2 + vBytes - BASE)
    const args = [a + i0 * k * 8, m - i0, k, maxNnz, rp2, ci2, v2, b, c + i0 * n * 8, n]
    post(h, OP_CSR_ROWS, args)
    const nnz1 = h.k.csrRows(a, i0, k, maxNnz, rp, ci, v)
    if (nnz1 >= 0) h.k.gemmCsr(rp, ci, v, b, c, i0, n)
    join(h)
    const nnz2 = h.ctrl[RESULT]
    if (nnz1 < 0 || nnz2 < 0 || nnz1 + nnz2 > maxNnz) return false
    C.set(f64.subarray(c >> 3, (c >> 3) + m * n))
    return true
  }
  // Aᵀ·B: A's rows compressed and transposed here (a counting sort over all rows), then C's
  // rows cut where the cost (non-zeros + rows, each times n) is half done
  if (h.k.csrRows(a, rows, cols, maxNnz, trp, tci, tv) < 0) return false
  h.k.csrTranspose(trp, tci, tv, rows, cols, rp, ci, v)
  const i0 = workCutRow(i32, rp, m)
  if (i0 < m) post(h, OP_CSR, [rp + i0 * 4, ci, v, b, c + i0 * n * 8, m - i0, n])
  h.k.gemmCsr(rp, ci, v, b, c, i0, n)
  if (i0 < m) join(h)
  C.set(f64.subarray(c >> 3, (c >> 3) + m * n))
  return true
}

/**
 * `largeProducts.hold` while two threads are asked for: a left operand held in the shared memory
 * (wasmKernels.ts's holdSparse and holdSparseRows there: the same compressed rows and columns,
 * entry for entry), whose products (`split.product`) split C's rows with the helper. Null — the
 * operand is then held on one thread — when there is no helper, another operand is held here,
 * `A` has more than `maxNnz` non-zeros or the memory cannot grow.
 */
export const sharedHold = {
  dense(A: Float64Array, rows: number, cols: number, maxNnz: number): HeldSparse | null {
    return hold(rows, cols, maxNnz, blockBytes(rows, cols), (h, L) => {
      const nnz = compressRows(h.k, f64, i32, A, rows, cols, maxNnz, L.end, L.rp, L.ci, L.v)
      return nnz >= 0
    })
  },
  rows(src: RowEntries, pick: Int32Array, cols: number, nnz: number): HeldSparse | null {
    return hold(pick.length, cols, nnz, 0, (h, L) => {
      gatherRows(h.k, i32, f64, src, pick, L.rp, L.ci, L.v)
      return true
    })
  },
}

function hold(
  rows: number,
  cols: number,
  maxNnz: number,
  scratch: number,
  compress: (h: Helper, L: HeldSparse) => boolean,
): HeldSparse | null {
  const h = wantedHelper()
  if (h === null || floor !== BASE) return null
  const L = heldLayout(rows, cols, maxNnz, BASE)
  try {
    reserve(h, L.end - BASE + scratch)
  } catch (e) {
    if (e instanceof RangeError) return null
    throw e
  }
  if (!compress(h, L)) return null
  h.k.csrTranspose(L.rp, L.ci, L.v, rows, cols, L.trp, L.tci, L.tv)
  floor = L.end
  const held: HeldSparse = {
    ...L,
    split: {
      product: (B, C, n, transA, transB, finiteB) =>
        heldProduct(h, held, B, C, n, transA, transB, finiteB),
      release: () => {
        if (floor === held.end && helper === h) floor = BASE
      },
    },
  }
  return held
}

/**
 * `C = A·op(B)` (or `Aᵀ·op(B)`) for `A` held here, op(B) k×n laid out with gemmHeldWasm's padded
 * rows: C's rows cut where half the work (non-zeros + rows) is done, the helper's half posted
 * first; every row by the same kernel as on one thread, so the same bits. A product of fewer than
 * `tuning.sparseMinWork` multiply-adds (counted dense) runs here alone. Returns false, computing
 * nothing, when `finiteB` and B holds ±∞ or NaN.
 */
function heldProduct(
  h: Helper,
  A: HeldSparse,
  B: Float64Array,
  C: Float64Array,
  n: number,
  transA: boolean,
  transB: boolean,
  finiteB: boolean,
): boolean {
  if (helper !== h || floor !== A.end) throw new Error('gemmHeld: expected a held operand')
  const m = transA ? A.cols : A.rows
  const k = transA ? A.rows : A.cols
  const ldb = paddedStride(n)
  const bBytes = align16(k * ldb * 8)
  reserve(h, floor - BASE + bBytes + m * n * 8)
  const b = floor
  const c = b + bBytes
  if (ldb === n) placeB(f64, B, k, n, transB, b)
  else placePadded(f64, B, k, n, ldb, transB, b)
  if (finiteB && h.k.allFinite(b, k * ldb) === 0) return false
  const rp = transA ? A.trp : A.rp
  const ci = transA ? A.tci : A.ci
  const v = transA ? A.tv : A.v
  const i0 = m * k * n < tuning.sparseMinWork ? m : workCutRow(i32, rp, m)
  if (i0 < m) post(h, OP_CSR_LD, [rp + i0 * 4, ci, v, b, c + i0 * n * 8, m - i0, n, ldb])
  h.k.gemmCsrLd(rp, ci, v, b, c, i0, n, ldb)
  // this thread's rows go out while the helper finishes its own
  C.set(f64.subarray(c >> 3, (c >> 3) + i0 * n))
  if (i0 < m) {
    join(h)
    C.set(f64.subarray((c >> 3) + i0 * n, (c >> 3) + m * n), i0 * n)
  }
  return true
}

/**
 * Products of the shared kernels (`splitKernels`) with fewer multiply-adds than this run on the
 * calling thread alone: dense ones counted m·k·n, sparse ones counted as done (non-zeros + rows)
 * times n. Nothing is copied for a split there (the operands lie in the shared memory already),
 * so the hand-over alone — a post and a join, microseconds while the helper polls — sets them.
 */
export const splitTuning = {
  denseMinWork: 1 << 20,
  sparseMinWork: 1 << 19,
  /** microseconds the helper polls on after each job of a step on the shared memory (see STEP) */
  stepSpinUs: 2_000,
  /**
   * chunks of a product's rows, taken by either thread (at most MAX_CHUNKS): the thread that
   * finishes first waits for the other's last chunk, half a chunk on average, so small chunks
   * waste less; each costs a walk of the kernel's other operand's share (from cache at W5's
   * sizes: 16 chunks of x·W1's columns are 10 slices of 28, against 7 of 42 at 8 chunks)
   */
  chunks: 16,
  /** rows of a dense chunk at least (each chunk walks the whole packed B again) */
  denseChunkRows: 32,
}

/** Products `splitKernels` split with the helper so far (a count for benchmarks and tests). */
export const splitStats = { products: 0 }

/**
 * `kernel` with `args` over all its chunks (`bounds`: rows, columns or bytes), the chunks taken by
 * both threads as they come free; `pass` computes an optimizer pass's chunk on this thread.
 */
function chunkJob(
  h: Helper,
  kernel: number,
  args: readonly number[],
  bounds: readonly number[],
  pass?: (from: number, bytes: number) => void,
): void {
  const c = h.ctrl
  const count = bounds.length - 1
  for (let i = 0; i <= count; i++) c[BOUNDS + i] = bounds[i]
  c[CARGS] = kernel
  for (let i = 0; i < args.length; i++) c[CARGS + 1 + i] = args[i]
  const seq = (h.seq + 1) | 0 || 1 // the one `post` gives the job
  Atomics.store(c, FIN, 0)
  Atomics.store(c, NEXT, ((seq & 0x7fff) << 16) | (count << 8))
  post(h, OP_CHUNKS, [])
  if (pass === undefined || passTuning.callerChunks) takeChunks(h.k, c, seq, pass)
  // the helper's chunks still running (none if it has not woken yet: this thread took them)
  for (let i = 0; i < SPIN && Atomics.load(c, FIN) < count; i++);
  for (let f = Atomics.load(c, FIN); f < count; f = Atomics.load(c, FIN)) Atomics.wait(c, FIN, f)
  if (c[FAILED] !== 0) throw new Error('gemm: the helper thread failed')
}

/**
 * When an optimizer's elementwise pass (src/engine/wasmPass.ts) splits its range with the
 * helper: leaves of at least `minLength` numbers, in chunks of at least `chunkLength` numbers
 * (at most MAX_CHUNKS), either thread taking the next one as it comes free.
 */
export const passTuning = {
  minLength: 1 << 14,
  chunkLength: 1 << 12,
  /**
   * microseconds the helper, woken as a pass that will split starts copying its inputs in
   * (`wakeForPass`), polls for its chunks at most: asleep since the differentiated call ended,
   * it took ~50 µs (a futex wake) to take its first chunk, by which time this thread had taken
   * most of W5's passes (the helper computed ~20% of them); the copies in (W5's ∂W1 and θ, 1.6 MB
   * each) cover the wake-up. The split pass ends the polling (0: no early wake)
   */
  wakeUs: 400,
  /** whether this thread takes chunks too (tests set false: the helper then computes them all) */
  callerChunks: true,
}

/**
 * Wakes the helper (it then polls for `passTuning.wakeUs` at most) when an optimizer's pass over
 * `length` numbers is about to split with it (`passThreads`, at least `passTuning.minLength`):
 * called before the pass copies its inputs in, so that the helper is awake for its first chunk.
 */
export function wakeForPass(length: number): void {
  const h = helper
  if (h === null || length < passTuning.minLength || passTuning.wakeUs <= 0 || !passThreads())
    return
  if (Atomics.load(h.ctrl, STEP) > 0) return // polling already (a step runs)
  Atomics.store(h.ctrl, STEP, passTuning.wakeUs)
  Atomics.notify(h.ctrl, SEQ, 1)
  wokeForPass = true
}

/** True while the helper polls because `wakeForPass` woke it (the split pass ends that). */
let wokeForPass = false

/** Passes split with the helper so far (a count for benchmarks and tests). */
export const passStats = { split: 0 }

/**
 * Whether an optimizer's pass should split with the helper now: the helper runs, and either two
 * threads were asked for (`setKernelThreads(2)`) or, under `'auto'`, the differentiated call
 * before it ran on two (the step timer chose two threads for this step: its pass then counts in
 * the two-thread step's time, as its products do).
 */
export function passThreads(): boolean {
  if (helper === null) return false
  const r = threadState.requested
  return r === 2 || (r === 'auto' && threadState.stepRan === 2)
}

/**
 * Runs an optimizer's elementwise pass — `module`'s export `pass(end, …)` over `memory` (shared),
 * `fn` this thread's instance of it, `args` its arguments, `addr[i]` true where argument i is a region's byte offset, `args[0]` the
 * regions' length in bytes (a multiple of 16) — in chunks on both threads: a chunk of bytes
 * b0…b1 runs `pass(b1 − b0, …)` with every region moved b0 on. An elementwise pass gives each
 * element the same bits whichever thread and chunk computes it. Returns false, running nothing,
 * when there is no helper or the pass is too short (`passTuning`).
 */
export function splitPass(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  fn: (...args: number[]) => void,
  args: readonly number[],
  addr: readonly boolean[],
): boolean {
  const h = helper
  const bytes = args[0]
  if (h === null || bytes < passTuning.minLength * 8 || args.length > MAX_PASS_ARGS) return false
  const per = 16 * Math.max(1, Math.ceil(bytes / MAX_CHUNKS / 16), passTuning.chunkLength >> 1)
  if (per >= bytes) return false
  const bounds = []
  for (let b = 0; b < bytes; b += per) bounds.push(b)
  bounds.push(bytes)
  let byModule = h.passIds.get(memory)
  if (byModule === undefined) h.passIds.set(memory, (byModule = new WeakMap()))
  let id = byModule.get(module)
  if (id === undefined) {
    byModule.set(module, (id = ++passCount))
    h.port.postMessage({ id, module, memory, addr })
  }
  const pa = h.passArgs
  for (let i = 0; i < args.length; i++) pa[i] = args[i]
  const own = args.slice()
  passStats.split++
  try {
    chunkJob(h, OP_PASS, [id, args.length], bounds, (from, n) => {
      own[0] = n
      for (let i = 1; i < args.length; i++) own[i] = addr[i] ? args[i] + from : args[i]
      fn(...own)
    })
  } finally {
    // the helper sleeps again after this pass (the next one wakes it as it starts)
    if (wokeForPass) {
      wokeForPass = false
      Atomics.store(h.ctrl, STEP, 0)
    }
  }
  return true
}

let passCount = 0

/**
 * The kernels over the shared memory, for wasmKernels.ts to run on (`useKernels`): the same
 * exports, with the five kernels that compute C's rows (gemm, gemmPacked, gemmCsr, gemmCsrLd,
 * gemmCsrPairs) splitting those rows with the helper when the product is large enough
 * (`splitTuning`). Each row is computed by the same kernel code on the same operands as on one
 * thread — dense rows cut at a multiple of 4, so each stays in its 4-row block; sparse rows cut
 * where shares of the work are done, pairs of rows between pairs — so every result has one
 * thread's bits. Operands are read and C written where they lie.
 */
function splitKernels(h: Helper): KernelExports {
  if (h.split !== undefined) return h.split
  const k = h.k
  let i32v = new Int32Array(h.memory.buffer)
  const rowPointers = (): Int32Array =>
    i32v.buffer === h.memory.buffer ? i32v : (i32v = new Int32Array(h.memory.buffer))
  // chunks of dense rows start at multiples of 4 (a row stays in its 4-row block)
  const denseBounds = (m: number, kk: number, n: number): number[] | null => {
    if (m * kk * n < splitTuning.denseMinWork) return null
    const chunks = Math.min(MAX_CHUNKS, splitTuning.chunks)
    const per = Math.max(splitTuning.denseChunkRows, 4 * Math.ceil(m / chunks / 4))
    if (per >= m) return null
    const bounds = []
    for (let r = 0; r < m; r += per) bounds.push(r)
    bounds.push(m)
    return bounds
  }
  // chunks of sparse rows end where a share of the work (non-zeros + rows) is done
  const sparseBounds = (rp: number, m: number, n: number): number[] | null => {
    // m rows of `rp` (a CSR's row pointers), each entry's work n
    const I = rowPointers()
    const p = rp >> 2
    if ((I[p + m] - I[p] + m) * n < splitTuning.sparseMinWork) return null
    const chunks = Math.min(MAX_CHUNKS, splitTuning.chunks)
    const bounds = [0]
    for (let i = 1; i < chunks; i++) {
      const r = workCutRow(I, rp, m, i / chunks)
      if (r > bounds[bounds.length - 1] && r < m) bounds.push(r)
    }
    bounds.push(m)
    return bounds.length > 2 ? bounds : null
  }
  // slices of n columns, each a multiple of 14 wide (the kernel's group of accumulators) but the last
  const columnBounds = (n: number, chunks: number): number[] | null => {
    const per = 14 * Math.ceil(n / chunks / 14)
    if (per >= n) return null
    const bounds = []
    for (let j = 0; j < n; j += per) bounds.push(j)
    bounds.push(n)
    return bounds
  }
  const chunked = (kernel: number, args: readonly number[], bounds: readonly number[]) => {
    splitStats.products++
    chunkJob(h, kernel, args, bounds)
  }
  // packA's arguments, deferred to the gemmPacked that reads its blocks (wasmKernels.ts
  // gemmDenseWasm calls them one after the other, nothing between): split, each chunk packs its
  // own rows; any other product (or a packA) first packs what is pending
  let packing: Parameters<KernelExports['packA']> | null = null
  const packNow = () => {
    const p = packing
    packing = null
    if (p !== null) k.packA(...p)
  }
  const split: KernelExports = {
    ...(k as KernelExports),
    memory: h.memory,
    packA(a, m, kk, sai, sap, pa) {
      packNow()
      packing = [a, m, kk, sai, sap, pa]
    },
    gemm(a, b, cc, m, kk, n, sai, sap) {
      packNow()
      const bounds = denseBounds(m, kk, n)
      if (bounds === null) k.gemm(a, b, cc, m, kk, n, sai, sap)
      else chunked(OP_GEMM, [a, b, cc, m, kk, n, sai, sap], bounds)
    },
    gemmPacked(a, pka, pk, b, cc, m, kk, n, sai, sap, sbp, sbj) {
      // this product's own packing (the same A, rows, strides and blocks) splits with it
      const mine = [a, m, kk, sai, sap, pka]
      const own = packing !== null && pka !== 0 && packing.every((x, i) => x === mine[i])
      if (own) packing = null
      else packNow()
      const bounds = denseBounds(m, kk, n)
      const args = [a, pka, pk, b, cc, m, kk, n, sai, sap, sbp, sbj]
      if (bounds !== null) chunked(own ? OP_GEMM_PACKED_A : OP_GEMM_PACKED, args, bounds)
      else {
        if (own) k.packA(a, m, kk, sai, sap, pka)
        k.gemmPacked(a, pka, pk, b, cc, m, kk, n, sai, sap, sbp, sbj)
      }
    },
    gemmCsr(rp, ci, v, b, cc, m, n) {
      packNow()
      const bounds = sparseBounds(rp, m, n)
      if (bounds === null) k.gemmCsr(rp, ci, v, b, cc, m, n)
      else chunked(OP_CSR, [rp, ci, v, b, cc, m, n], bounds)
    },
    gemmCsrLd(rp, ci, v, b, cc, m, n, ldb) {
      packNow()
      const bounds = sparseBounds(rp, m, n)
      if (bounds === null) k.gemmCsrLd(rp, ci, v, b, cc, m, n, ldb)
      else if (m > CSR_ROWS) chunked(OP_CSR_LD, [rp, ci, v, b, cc, m, n, ldb], bounds)
      else {
        // the kernel walks B's columns for CSR_ROWS rows at a time: rows this few are one walk
        // over B, which slices of rows would each repeat (W5's x·W1: 1.6 MB of B a slice); slices
        // of columns read a slice of B each, once (14 columns a group of accumulators)
        const cols = columnBounds(n, bounds.length - 1)
        if (cols === null) chunked(OP_CSR_LD, [rp, ci, v, b, cc, m, n, ldb], bounds)
        else chunked(OP_CSR_LD_COLS, [rp, ci, v, b, cc, m, n, ldb], cols)
      }
    },
    gemmCsrPairs(rp, ci, v, b, cc, m, n, ldb) {
      packNow()
      // cut between pairs (each entry of a pair's row feeds two rows of C): at even rows
      const pairs = sparseBounds(rp, (m + 1) >> 1, 2 * n)
      if (pairs === null) k.gemmCsrPairs(rp, ci, v, b, cc, m, n, ldb)
      else
        chunked(
          OP_CSR_PAIRS,
          [rp, ci, v, b, cc, m, n, ldb],
          pairs.map((r) => Math.min(m, 2 * r)),
        )
    },
  }
  return (h.split = split)
}

/**
 * Runs `fn` (one training step) with wasmKernels.ts's kernels over the shared memory, their large
 * products split with the helper (`splitKernels`): the tape's arena, its held batch and every
 * product's operands lie where both threads read them, so nothing is copied for a split. Returns
 * null, running nothing, when there is no helper or the kernels cannot switch now (an operand
 * held, an arena open); `run` then runs the step on one thread.
 */
export function onSharedMemory<R>(fn: () => R): { result: R } | null {
  const h = wantedHelper()
  if (h === null || !useKernels(splitKernels(h))) return null
  // the helper polls through the step (see STEP), woken if it sleeps once the step's batch is
  // held (not beside the hold: afterHold) or by the first post: it is ready by the first
  // product, after the first layer's weights are laid out
  Atomics.store(h.ctrl, STEP, splitTuning.stepSpinUs)
  afterHold.run = h.wake ??= () => Atomics.notify(h.ctrl, SEQ, 1)
  try {
    return { result: fn() }
  } finally {
    afterHold.run = null
    Atomics.store(h.ctrl, STEP, 0)
    useKernels(null)
  }
}
