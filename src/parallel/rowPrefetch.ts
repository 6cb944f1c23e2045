// Internal: a sampler's next batch prepared on the second core while the current step runs. A
// step that holds a batch drawn from a large mostly-zero data set (gatheredRows.ts) first gathers
// its rows' packed entries from a hundred random places of the row cache (bound by each row's
// cache and TLB misses) and sorts them by column (csrTranspose); neither depends on the
// parameters. With a prefetcher the sampler draws one batch ahead (the same random stream, the
// same batches) and posts it; a worker thread of low priority gathers and sorts it into a staging
// memory; the step that holds it copies both CSRs into linear memory and unpacks them there (the
// same entries in the same order). A batch the worker has not taken up when the step needs it,
// or has not finished by then, is gathered by the step itself, as without a prefetcher.
//
// Its own thread, not the kernels' helper (sharedKernels.ts): its work needs no wasm, and at the
// lowest priority (nice 19) it runs only where a core is idle — with another process on the
// second core it waits, and the step takes its batches back — while the helper's share of a
// two-thread step must not wait.
import { resolvedBackend } from '../tensor/kernels/gemmKernel.js'
import type { Levels, StagedRows } from '../tensor/kernels/wasmKernels.js'
import type { RowCache, RowPrefetcher } from '../tensor/gatheredRows.js'
import { closers } from './closerInternals.js'
import { threadState } from './sharedKernels.js'

/**
 * When a sampler prepares its batches ahead: a data set of at least `minData` numbers, batches
 * of at least `minBatch` numbers (dense), with 8-bit levels (packed rows). A smaller data set's
 * row cache stays in the processor's caches, where the step gathers a batch about as fast as it
 * copies one in (W3 on 6,000 MNIST rows, 4.7 million numbers, gained nothing; on all 60,000 it
 * does). `enabled` false turns it off (tests and benchmarks).
 */
export const prefetchTuning = {
  enabled: true,
  minData: 1 << 24,
  minBatch: 1 << 13,
  /** tests: a step waits for its batch, posted or started, until the worker has prepared it */
  patient: false,
}

/**
 * Batches posted, prepared ahead and used, taken back before the worker took them up, and
 * taken back started but unfinished (benchmarks and tests).
 */
export const prefetchStats = { posted: 0, used: 0, taken: 0, late: 0 }

/**
 * Microseconds a step waits at most for a batch the worker has started: longer, and the worker
 * was stopped midway (its core taken by another process), for a time slice of milliseconds.
 */
const WAIT_US = 30

// The worker's control words (Int32Array): BELL counts posts (the worker sleeps on it), POSTS
// counts batches posted, ID names the prefetcher of the last, DEEP is 1 while the worker sleeps
// until woken (otherwise it looks for batches every POLL_MS, for WATCH_MS after its last batch,
// and a post needs no wake-up: a futex wake of a sleeping thread costs the waker more than the
// gather it hands over, on this project's VM), EXIT ends it.
const BELL = 0
const POSTS = 1
const ID = 2
const DEEP = 3
const EXIT = 4
const CTRL_INTS = 5
const POLL_MS = 0.15
const WATCH_MS = 50
/** rows a bulk compression (gatheredRows.ts BulkRows) does between looks for a posted batch */
const BULK_ROWS = 32

/**
 * A prefetcher's staging memory (an Int32Array over a SharedArrayBuffer): two slots, each a header
 * of HEADER words from slot·HEADER — state, ticket, the batch's rows and columns, its count of
 * entries, the generation of the row cache's packed entries it reads, the offsets (in words) of
 * its input (each row's start and count in the packed entries) and of its outputs (row pointers,
 * packed entries, column pointers, packed entries by column) — then the slots' regions.
 */
const SLOTS = 2
const HEADER = 12
const STATE = 0
const TICKET = 1
const ROWS = 2
const COLS = 3
const NNZ = 4
const GEN = 5
const IN = 6
const RP = 7
const CI = 8
const TRP = 9
const TCI = 10
/** a slot's states: free, posted (not started: the step may take it back), started, done, failed */
const IDLE = 0
const POSTED = 1
const STARTED = 2
const DONE = 3
const FAILED = 4

/**
 * The worker's program (a CommonJS script run with `eval`). It takes the oldest posted slot of
 * the last prefetcher that posted, copies the listed rows' packed entries (col | level << 16) one
 * after the other and sorts them by column into packed entries (row | level << 16) in
 * csrTranspose's order (a counting sort: within a column, rows in order), so that unpacking both
 * gives the step gatherRows' and csrTranspose's CSRs entry for entry. Prefetchers register their
 * staging and packed memories through the port, and their row cache's bulk compression (BulkRows):
 * done BULK_ROWS rows at a time while no batch is posted, its writes then stored before the count
 * of rows done.
 */
const WORKER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads')
try {
  require('node:os').setPriority(19) // this thread only (Linux: a thread's nice is its own)
} catch {}
const { ctrl, port } = workerData
const c = new Int32Array(ctrl)
const prefetchers = new Map()
const bulks = []
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
function drain() {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const r = m.message
    prefetchers.delete(r.id)
    const P = new Int32Array(r.packed)
    prefetchers.set(r.id, { S: new Int32Array(r.staging), P, gen: r.gen })
    // the last two runs' only: a finished run's memories are not kept alive here
    while (prefetchers.size > 2) prefetchers.delete(prefetchers.keys().next().value)
    if (r.bulk !== undefined) bulks.push(bulkJob(r.bulk, P))
  }
}
function bulkJob({ bytes, offset, rows, cols, zone, at, found }, P) {
  const B = new Uint8Array(bytes, offset, rows * cols)
  // four bytes at a time where rows start on words (all-zero words skipped: most of an image)
  const words = littleEndian && offset % 4 === 0 && cols % 4 === 0
  const W = words ? new Int32Array(bytes, offset, (rows * cols) / 4) : null
  const F = new Uint8Array(found)
  return { B, W, P, A: new Int32Array(at), F, rows, cols, zone, next: 0, end: 0 }
}
/** BULK_ROWS rows of the oldest bulk compression; false when there is none. */
function compressSome() {
  const b = bulks[0]
  if (b === undefined) return false
  const { B, W, P, A, F, rows, cols, zone } = b
  let r = b.next
  if (r >= rows || Atomics.load(A, 2 * rows + 1) !== 0) {
    bulks.shift()
    return true
  }
  let at = b.end
  for (const last = Math.min(rows, r + ${BULK_ROWS}); r < last; r++) {
    // found by the step meanwhile: never read from here
    if (F[r] !== 0) continue
    // a row's entries are written branch-free, one past the last non-zero: room for a whole row
    if (at + cols > zone) {
      bulks.shift()
      Atomics.store(A, 2 * rows + 1, 2) // stopped here (tests wait for it)
      break
    }
    const s = at
    if (W !== null) {
      for (let w = (r * cols) >> 2, e = w + (cols >> 2), j = 0; w < e; w++, j += 4) {
        const x = W[w]
        if (x === 0) continue
        let k = x & 255
        P[at] = j | (k << 16)
        at += (k !== 0) | 0
        k = (x >>> 8) & 255
        P[at] = (j + 1) | (k << 16)
        at += (k !== 0) | 0
        k = (x >>> 16) & 255
        P[at] = (j + 2) | (k << 16)
        at += (k !== 0) | 0
        k = x >>> 24
        P[at] = (j + 3) | (k << 16)
        at += (k !== 0) | 0
      }
    } else {
      for (let q = r * cols, j = 0; j < cols; j++) {
        const k = B[q + j]
        P[at] = j | (k << 16)
        at += (k !== 0) | 0
      }
    }
    A[2 * r] = s
    A[2 * r + 1] = at - s
  }
  b.next = r
  b.end = at
  Atomics.store(A, 2 * rows, r)
  return true
}
let seen = 0
let touched = 0
function prepare() {
  seen = Atomics.load(c, ${POSTS})
  const id = Atomics.load(c, ${ID})
  for (;;) {
    let p = prefetchers.get(id)
    if (p === undefined) {
      drain()
      p = prefetchers.get(id)
      if (p === undefined) return
    }
    const S = p.S
    let h = -1
    for (let at = 0; at < ${SLOTS * HEADER}; at += ${HEADER}) {
      if (Atomics.load(S, at + ${STATE}) !== ${POSTED}) continue
      if (h < 0 || S[at + ${TICKET}] - S[h + ${TICKET}] < 0) h = at
    }
    if (h < 0) return
    if (Atomics.compareExchange(S, h + ${STATE}, ${POSTED}, ${STARTED}) !== ${POSTED}) continue
    if (p.gen < S[h + ${GEN}]) {
      drain()
      p = prefetchers.get(id) ?? p
    }
    let state = ${DONE}
    try {
      if (p.gen < S[h + ${GEN}]) throw new Error('packed rows not registered')
      gather(S, p.P, h)
    } catch (e) {
      state = ${FAILED}
    }
    Atomics.store(S, h + ${STATE}, state)
  }
}
function gather(S, P, h) {
  const rows = S[h + ${ROWS}], cols = S[h + ${COLS}], inp = S[h + ${IN}]
  const rp = S[h + ${RP}], ci = S[h + ${CI}], trp = S[h + ${TRP}], tci = S[h + ${TCI}]
  // the rows lie at random places: their first entries loaded first, so that the misses overlap
  let touch = 0
  for (let i = 0; i < rows; i++) if (S[inp + 2 * i + 1] > 0) touch = (touch + P[S[inp + 2 * i]]) | 0
  touched = touch
  let at = 0
  S[rp] = 0
  for (let i = 0; i < rows; i++) {
    const s = S[inp + 2 * i]
    const n = S[inp + 2 * i + 1]
    for (let q = 0; q < n; q++) S[ci + at + q] = P[s + q]
    at += n
    S[rp + i + 1] = at
  }
  if (at !== S[h + ${NNZ}]) throw new Error('entries miscounted')
  S.fill(0, trp, trp + cols + 1)
  for (let q = ci, e = ci + at; q < e; q++) S[trp + (S[q] & 0xffff) + 1]++
  for (let j = 1, s = 0; j <= cols; j++) {
    s += S[trp + j]
    S[trp + j] = s
  }
  for (let i = 0; i < rows; i++) {
    const e = ci + S[rp + i + 1]
    for (let q = ci + S[rp + i]; q < e; q++) {
      const v = S[q]
      const col = trp + (v & 0xffff)
      const t = S[col]
      S[tci + t] = (v & ~0xffff) | i
      S[col] = t + 1
    }
  }
  for (let j = cols; j > 0; j--) S[trp + j] = S[trp + j - 1]
  S[trp] = 0
}
let bell = Atomics.load(c, ${BELL})
let watchUntil = 0
while (Atomics.load(c, ${EXIT}) === 0) {
  if (Atomics.load(c, ${POSTS}) !== seen) {
    try {
      prepare()
    } catch {}
    watchUntil = performance.now() + ${WATCH_MS}
  } else if (compressSome()) {
    // between batches: a batch posted meanwhile waits at most BULK_ROWS rows
  } else if (performance.now() < watchUntil) {
    // batches come one a step: looked for often, without the poster waking this thread
    Atomics.wait(c, ${BELL}, bell, ${POLL_MS})
  } else {
    Atomics.store(c, ${DEEP}, 1)
    if (Atomics.load(c, ${POSTS}) === seen) Atomics.wait(c, ${BELL}, bell)
    Atomics.store(c, ${DEEP}, 0)
  }
  bell = Atomics.load(c, ${BELL})
}
`

/** The worker thread and its control words, while it runs. */
interface Worker {
  readonly ctrl: Int32Array
  readonly port: { postMessage(m: unknown): void }
  readonly thread: { terminate(): unknown }
}

let worker: Worker | null = null

/** The worker, started if need be (not waited for: batches posted before it runs are taken back). */
function theWorker(): Worker | null {
  if (worker !== null) return worker
  try {
    const proc = (globalThis as { process?: NodeJS.Process }).process
    if (typeof proc?.getBuiltinModule !== 'function') return null
    const wt = proc.getBuiltinModule('node:worker_threads')
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS))
    const { port1, port2 } = new wt.MessageChannel()
    port1.unref()
    const thread = new wt.Worker(WORKER, {
      eval: true,
      execArgv: [],
      workerData: { ctrl: ctrl.buffer, port: port2 },
      transferList: [port2],
    })
    thread.unref()
    thread.on('error', () => {
      if (worker?.thread === thread) worker = null
    })
    closers.add(stopWorker)
    worker = { ctrl, port: port1, thread }
  } catch {
    worker = null
  }
  return worker
}

/** Ends the worker (closeWorkers); a later batch starts another. */
function stopWorker(): void {
  const w = worker
  if (w === null) return
  worker = null
  Atomics.store(w.ctrl, EXIT, 1)
  Atomics.add(w.ctrl, BELL, 1)
  Atomics.notify(w.ctrl, BELL)
  void w.thread.terminate()
}

let ids = 0

/** `n` words rounded up to 16 bytes. */
const align4 = (n: number): number => (n + 3) & ~3

/**
 * Prepares `cache`'s batches of at most `rows` rows ahead (see above), or returns null — nothing
 * set up — where that cannot or does not pay: no wasm kernels, one kernel thread asked for
 * (`setKernelThreads(1)`: no other thread), no worker threads or shared memory, a small data
 * set. Call before the cache's first draw (its packed entries then go to shared memory).
 */
export function rowPrefetch(cache: RowCache, rows: number): RowPrefetcher | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: unknown } }).process
  if (
    !prefetchTuning.enabled ||
    threadState.requested === 1 ||
    typeof SharedArrayBuffer !== 'function' ||
    typeof proc?.getBuiltinModule !== 'function' ||
    cache.cols > 65536 ||
    rows >= 65536 ||
    cache.rows * cache.cols < prefetchTuning.minData ||
    rows * cache.cols < prefetchTuning.minBatch ||
    resolvedBackend() !== 'wasm'
  )
    return null
  const p = new Prefetcher(cache, rows)
  cache.shared = true
  cache.prefetch = p
  return p
}

class Prefetcher implements RowPrefetcher {
  readonly id = ++ids
  /** the staging memory (a new one for each worker: a closed one may still write its last) */
  private S!: Int32Array
  private tickets = 0
  /** the worker the staging and packed memories were registered with, and which packed memory */
  private worker: Worker | null = null
  private packed: Int32Array | null = null
  private gen = 0
  /** whether the cache's bulk compression was handed to a worker (only ever the first) */
  private bulkSent = false
  /** each slot's batch's levels */
  private readonly levels: (Levels | null)[] = [null, null]
  /** what `claim` returns for each slot (one object a slot, not one a batch) */
  private views: { -readonly [K in keyof StagedRows]: StagedRows[K] }[] = []

  constructor(
    private readonly cache: RowCache,
    private readonly rows: number,
  ) {
    this.restage()
  }

  /** Makes `S` a new staging memory, and the slots' views of it. */
  private restage(): void {
    const S = (this.S = this.staging())
    this.views = [0, HEADER].map((at) => {
      const [rp, ci, trp, tci] = [S[at + RP], S[at + CI], S[at + TRP], S[at + TCI]]
      return { words: S, rp, ci, trp, tci, levels: { mul: 1, div: 1 } }
    })
    // tickets go on: a batch posted to the last staging memory finds none of its own here
  }

  /**
   * A staging memory for batches of up to `rows` rows of the cache's columns. Each region starts
   * on 16 bytes, as the step's copies into linear memory do: a copy out of shared memory goes
   * by 8-byte words only where source and destination agree modulo 8, else byte by byte.
   */
  private staging(): Int32Array {
    const { rows } = this
    const cols = this.cache.cols
    const nnz = rows * cols
    // each region's offset in a slot
    const rp = align4(2 * rows)
    const ci = rp + align4(rows + 1)
    const trp = ci + align4(nnz)
    const tci = trp + align4(cols + 1)
    const slot = tci + align4(nnz)
    const head = align4(SLOTS * HEADER)
    const S = new Int32Array(new SharedArrayBuffer(4 * (head + SLOTS * slot)))
    for (let h = 0, at = head; h < SLOTS * HEADER; h += HEADER, at += slot) {
      S[h + IN] = at
      S[h + RP] = at + rp
      S[h + CI] = at + ci
      S[h + TRP] = at + trp
      S[h + TCI] = at + tci
    }
    return S
  }

  post(pick: Int32Array, nnz: number): number {
    const { cache } = this
    const levels = cache.levels
    const rows = pick.length
    if (levels === null || rows > this.rows || threadState.requested === 1) return 0
    const w = theWorker()
    if (w === null) return 0
    if (w !== this.worker || cache.packed !== this.packed) {
      // a new worker (closeWorkers ended the last), or the packed entries moved (grown)
      if (w !== this.worker && this.worker !== null) this.restage()
      this.worker = w
      this.packed = cache.packed
      this.gen++
      const b = this.bulkSent ? null : cache.bulk
      this.bulkSent ||= b !== null
      w.port.postMessage({
        id: this.id,
        staging: this.S.buffer,
        packed: cache.packed.buffer,
        gen: this.gen,
        bulk:
          b === null
            ? undefined
            : {
                bytes: b.bytes.buffer,
                offset: b.bytes.byteOffset,
                rows: b.rows,
                cols: b.cols,
                zone: b.zone,
                at: b.at.buffer,
                found: b.found.buffer,
              },
      })
    }
    const S = this.S
    // never 0 (no batch) nor −1 (the slot's batch lost)
    const ticket = (this.tickets = this.tickets >= 0x3fffffff ? 1 : this.tickets + 1)
    const at = (ticket & 1) * HEADER
    // the slot's last batch: taken back if not started; a slot still being written is skipped
    if (
      Atomics.compareExchange(S, at + STATE, POSTED, IDLE) !== POSTED &&
      Atomics.load(S, at + STATE) === STARTED
    )
      return 0
    const { rowAt } = cache
    const inp = S[at + IN]
    for (let i = 0; i < rows; i++) {
      S[inp + 2 * i] = rowAt[2 * pick[i]]
      S[inp + 2 * i + 1] = rowAt[2 * pick[i] + 1]
    }
    S[at + TICKET] = ticket
    S[at + ROWS] = rows
    S[at + COLS] = cache.cols
    S[at + NNZ] = nnz
    S[at + GEN] = this.gen
    Atomics.store(S, at + STATE, POSTED)
    const c = w.ctrl
    Atomics.store(c, ID, this.id)
    Atomics.add(c, POSTS, 1)
    Atomics.add(c, BELL, 1)
    if (Atomics.load(c, DEEP) === 1) Atomics.notify(c, BELL, 1)
    this.levels[ticket & 1] = levels
    prefetchStats.posted++
    return ticket
  }

  /**
   * The batch of `ticket` prepared, or null: taken back (not started), started but not done
   * within WAIT_US (the step gathers it; what the worker still writes is never read), lost
   * (its slot went to a later batch) or failed.
   */
  claim(ticket: number): StagedRows | null {
    const { S } = this
    const at = (ticket & 1) * HEADER
    if (S[at + TICKET] !== ticket) return null
    if (prefetchTuning.patient) this.await(S, at)
    if (Atomics.compareExchange(S, at + STATE, POSTED, IDLE) === POSTED) {
      prefetchStats.taken++
      return null
    }
    let s = Atomics.load(S, at + STATE)
    if (s === STARTED) {
      const t0 = performance.now()
      for (let i = 1; s === STARTED; i++) {
        if ((i & 63) === 0 && performance.now() - t0 > WAIT_US / 1000) break
        s = Atomics.load(S, at + STATE)
      }
    }
    if (s !== DONE || worker !== this.worker) {
      S[at + TICKET] = -1
      prefetchStats.late++
      return null
    }
    prefetchStats.used++
    const v = this.views[ticket & 1]
    v.levels = this.levels[ticket & 1]!
    return v
  }

  /** Waits (tests: `prefetchTuning.patient`) until the worker has prepared slot `at`, 10 s at most. */
  private await(S: Int32Array, at: number): void {
    const t0 = performance.now()
    for (let s = Atomics.load(S, at + STATE); s === POSTED || s === STARTED;) {
      if (worker !== this.worker || performance.now() - t0 > 10_000) return
      Atomics.wait(S, at + STATE, s, 1)
      s = Atomics.load(S, at + STATE)
    }
  }

  settle(): void {
    // not started: taken back; started: never read (the worker may read what is rewritten)
    for (let at = 0; at < SLOTS * HEADER; at += HEADER) {
      Atomics.compareExchange(this.S, at + STATE, POSTED, IDLE)
      this.S[at + TICKET] = -1
    }
  }
}
