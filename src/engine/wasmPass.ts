// The pass of src/engine/pass.ts as a WebAssembly SIMD kernel, built at run time from the rules'
// own source (src/engine/ruleCompiler.ts): two elements per instruction (f64x2), each operation
// the one the rule writes, in its order, so each element gets the JavaScript loop's bits (IEEE
// division, square root, products and sums per lane; NaN payloads aside). A divider-bound rule
// (Adam: three divisions and a square root an element) runs in about half the time — but only
// on operands already in linear memory: copied in and out at every step it gains nothing
// (bench/RESULTS.md, issue 21). So the chain's pass keeps them there (`residentPass`): per leaf,
// θ and the slot's arrays stay in a private memory between steps, used while the incoming
// state's arrays are (by identity) the ones it left last step, else copied in; the kernel
// updates them in place. The new state's arrays stay there as lazy tensors (`runLazy`,
// src/engine/residentStates.ts): copied out if read while the memory holds them, replayed by the
// JavaScript loop from kept inputs if read later, so a kept state stays valid forever; the
// resident arrays are the library's own. The memories are pooled for the process (`arenaFor`):
// a new run takes over an idle run's memory, pages already touched, instead of adding one of its
// own (what the old owner left there is not copied out: read later, it replays).

import {
  claimBand,
  helperMemory,
  passThreads,
  splitPass,
  wakeForPass,
} from '../parallel/sharedKernels.js'
import type { LazyData } from '../tensor/lazyData.js'
import { type Member, type PassLoop, passCodegen, passLoop } from './pass.js'
import { type Home, type PassStep, ResidentData } from './residentStates.js'
import { type CompiledRule, compileRule, type Expr } from './ruleCompiler.js'

/**
 * When the pass runs as a wasm kernel: 'auto' where it pays (a divider-bound chain on a large
 * leaf), 'always' wherever a kernel compiles (tests), 'off' never. Loop generation turned off
 * (`setPassCodegen(false)`, what a strict-CSP page gets) turns it off too. Returns the previous
 * setting.
 */
export function setPassWasm(mode: 'auto' | 'always' | 'off'): 'auto' | 'always' | 'off' {
  const was = wasmMode
  wasmMode = mode
  return was
}
let wasmMode: 'auto' | 'always' | 'off' = 'auto'

/** Leaves shorter than this stay on the JavaScript loop ('auto'): too little work to pay. */
const MIN_LENGTH = 4096
/**
 * Divisions and square roots an element below which the JavaScript loop keeps up ('auto'): one
 * is enough (schedule-free's rule, its θ and z resident; bench/RESULTS.md, issue 17).
 */
const MIN_HEAVY = 1

/** A chain's kernel: its module and how to call it. */
interface Kernel {
  readonly module: WebAssembly.Module
  /** the same kernel importing a shared memory (an arena both threads run it on), once made */
  shared?: WebAssembly.Module | null
  /** per argument of `pass`, whether it is a region's byte offset (moved for a chunk) */
  readonly addr: readonly boolean[]
  readonly apply: boolean
  /** per member, its compiled rule (null: a scaling u ↦ c·u) */
  readonly rules: readonly (CompiledRule | null)[]
  readonly trees: readonly (readonly string[])[]
  readonly readsP: boolean
  readonly heavy: number
}

/** Whether this realm runs WebAssembly SIMD (false where a CSP refuses it). */
let simd: boolean | undefined
function wasmAvailable(): boolean {
  if (simd === undefined) {
    try {
      // compiling a module is what a CSP without 'wasm-unsafe-eval' refuses
      simd =
        typeof WebAssembly === 'object' &&
        new WebAssembly.Module(new Uint8Array(moduleBytes([], [], false))) !== null
    } catch {
      simd = false
    }
  }
  return simd
}

const kernels = new WeakMap<readonly Member[], Map<string, Kernel | null>>()
const compiled = new WeakMap<object, Map<string, CompiledRule | null>>()

/** The kernel of `members` (trees `trees`), or null when a rule is outside the subset. */
function kernelOf(
  members: readonly Member[],
  trees: readonly (readonly string[])[],
  apply: boolean,
): Kernel | null {
  if (wasmMode === 'off' || !passCodegen() || !wasmAvailable()) return null
  let byKey = kernels.get(members)
  if (byKey === undefined) kernels.set(members, (byKey = new Map()))
  const key = `${apply}${JSON.stringify(trees)}`
  if (byKey.has(key)) return byKey.get(key)!
  let kernel: Kernel | null = null
  const rules = members.map((r, j) => (r === null ? null : ruleOf(r, trees[j] ?? [])))
  if (rules.every((r, j) => r !== undefined && (r !== null || members[j] === null))) {
    const rs = rules as (CompiledRule | null)[]
    const ts = members.map((_, j) => trees[j] ?? [])
    try {
      const module = new WebAssembly.Module(new Uint8Array(moduleBytes(rs, ts, apply)))
      const readsP = apply || rs.some((r) => r !== null && reads(r, (e) => e.op === 'p'))
      const heavy = rs.reduce((h, r) => h + (r?.heavy ?? 0), 0)
      const addr = [false, false, true, true, true]
      rs.forEach((r, j) => {
        if (r === null) addr.push(false)
        else addr.push(...ts[j].flatMap(() => [true, true]), ...r.consts.map(() => false))
      })
      kernel = { module, addr, apply, rules: rs, trees: ts, readsP, heavy }
    } catch {
      kernel = null
    }
  }
  byKey.set(key, kernel)
  return kernel
}

/** A rule compiled once (per slot trees); undefined when it is outside the subset. */
function ruleOf(rule: object, trees: readonly string[]): CompiledRule | undefined {
  let byTrees = compiled.get(rule)
  if (byTrees === undefined) compiled.set(rule, (byTrees = new Map()))
  const key = JSON.stringify(trees)
  if (!byTrees.has(key)) byTrees.set(key, compileRule(rule as () => unknown, trees))
  return byTrees.get(key) ?? undefined
}

function reads(r: CompiledRule, test: (e: Expr) => boolean): boolean {
  const walk = (e: Expr): boolean =>
    test(e) ||
    ('a' in e && walk(e.a)) ||
    ('b' in e && walk(e.b)) ||
    ('c' in e && typeof e.c === 'object' && walk(e.c))
  return walk(r.result) || r.steps.some((s) => s.kind === 'set' && walk(s.e))
}

/**
 * The kernel's arguments after (end, a, p, g, q): per member its constants read from `k[j]`
 * (and for a rule, its trees' addresses, set by the caller), or false when a constant is not a
 * number (the JavaScript loop then runs, and coerces as it does).
 */
function constants(kernel: Kernel, k: readonly unknown[], out: number[], at: number): boolean {
  const { rules, trees } = kernel
  for (let j = 0; j < rules.length; j++) {
    const r = rules[j]
    if (r === null) {
      const c = k[j]
      if (typeof c !== 'number') return false
      out[at++] = c
      continue
    }
    at += 2 * trees[j].length
    const kj = k[j]
    for (const name of r.consts) {
      const v = name === null ? kj : (kj as Record<string, unknown> | null)?.[name]
      if (typeof v !== 'number') return false
      out[at++] = v
    }
  }
  return true
}

/** Bytes for `n` numbers, rounded up to whole 16-byte vectors (the kernel runs pairs). */
const padded = (n: number) => ((n + 1) >> 1) << 4

/** A shared arena's maximum (its kernels' import says so): 1 GiB, what `residentPass` lays out. */
const MAX_PAGES = 16384

/** The kernel's module importing a shared memory (null where it does not compile). */
function sharedModuleOf(kernel: Kernel): WebAssembly.Module | null {
  if (kernel.shared === undefined) {
    try {
      const bytes = moduleBytes(kernel.rules, kernel.trees, kernel.apply, true)
      kernel.shared = new WebAssembly.Module(new Uint8Array(bytes))
    } catch {
      kernel.shared = null
    }
  }
  return kernel.shared
}

/** A memory shared with the helper thread, holding `bytes` at least; null where none can be. */
function sharedMemory(bytes: number): WebAssembly.Memory | null {
  try {
    const initial = Math.max(1, Math.ceil(bytes / 65536))
    return new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true })
  } catch {
    return null
  }
}

/** A memory of an arena, and the kernels' instances on it. */
interface ArenaMemory {
  readonly memory: WebAssembly.Memory
  /** whether it is shared (the kernels' shared modules run on it) */
  readonly shared: boolean
  /** where the arena's numbers start in it (bytes): 0, or the band of the kernels' memory */
  readonly origin: number
  // weak: an arena outlives the chains whose kernels it ran (the pool keeps it)
  readonly instances: WeakMap<Kernel, (...args: number[]) => void>
}

/**
 * A private memory and the kernels' instances on it. Where a pass splits with the helper thread
 * (`passThreads`), its numbers lie in a shared memory instead, so that the helper runs chunks of
 * the pass on it (`splitPass`; each element gets the same bits on either thread): made so at once
 * when passes split from the start, else moved there (copied) when one first would. Back on one
 * thread they move back into the private memory (both kept once made, their pages touched): copies
 * into and out of a shared memory (the step's g, θ read by the next step) run at about 0.6× the
 * speed of private ones, and a step timer's probe moves between the counts a few times a run.
 * A pooled arena's shared memory is, where it can be, the one the kernels share with the helper
 * (its upper band: sharedKernels.ts `claimBand`): a two-thread step's tape then reads θ where the
 * pass left it, and the pass reads the tape's ∂W where the tape left it, neither copied. Offsets
 * (`numbers`' indices, the arguments `run` takes) count from the arena's origin in its memory.
 */
class Arena {
  /** the memory in use, and the other one (kept once made) */
  private cur: ArenaMemory
  private other: ArenaMemory | null = null
  private f64: Float64Array
  /** `run`'s arguments with the origin added to the addresses */
  private readonly abs: number[] = []

  /** @param band whether its shared memory may be the kernels' (a pooled arena's) */
  constructor(private readonly band = false) {
    this.cur = (passThreads() ? this.sharedMemory(65536) : null) ?? privateMemory(65536)
    this.f64 = this.view()
  }
  /** the resident pass using it (pooled arenas), and its last use on `clock` */
  owner: object | null = null
  lastUse = 0
  /** its owner's residences */
  residences = 0
  /** forgets what its owner holds there (before a takeover): read later, it replays */
  evict: (() => void) | null = null

  /**
   * The view of the memory as numbers from the origin, at least `bytes` long (null: it cannot
   * grow so far).
   */
  numbers(bytes: number): Float64Array | null {
    const { memory, origin } = this.cur
    const have = memory.buffer.byteLength
    try {
      if (origin + bytes > have) memory.grow(Math.ceil((origin + bytes - have) / 65536))
    } catch {
      return null
    }
    if (this.f64.buffer !== memory.buffer) this.f64 = this.view()
    return this.f64
  }

  private view(): Float64Array {
    const { memory, origin } = this.cur
    return new Float64Array(memory.buffer, origin)
  }

  /**
   * The offset (bytes from the origin, below it for the kernels' own layouts) of `view` where it
   * lies in the memory in use — a tape's ∂W the pass may read there — or null where it lies
   * elsewhere.
   */
  offsetOf(view: Float64Array): number | null {
    return view.buffer === this.cur.memory.buffer ? view.byteOffset - this.cur.origin : null
  }

  /**
   * Makes the memory in use the one `run` runs `kernel` on now: shared where a pass should split
   * (`passThreads`), else private (the numbers moved if need be). Called before a step's inputs
   * are copied in, so that `offsetOf` answers for the memory the kernel runs on.
   */
  prepare(kernel: Kernel): void {
    if (passThreads()) {
      if (sharedModuleOf(kernel) !== null && this.use(true)) this.intoBand()
    } else if (this.cur.shared) this.use(false)
  }

  /** the band of a helper's memory that could not hold the numbers (not tried again) */
  private refused: WebAssembly.Memory | null = null

  /**
   * Moves the numbers of a pooled arena's shared memory that is not the band of the memory the
   * kernels share with the helper now — made before that helper started, or the band of one
   * stopped since (`closeWorkers`: the next runs take this arena over) — into that band, where
   * it can have it: else each two-thread step copies θ and ∂W between the two memories.
   */
  private intoBand(): void {
    // in the running helper's memory already: its band, claimed when the numbers moved there
    if (!this.band || this.cur.memory === helperMemory()) return
    const band = claimBand(this)
    const from = this.cur
    if (band === null || band.memory === from.memory || band.memory === this.refused) return
    const { memory, at } = band
    const have = from.memory.buffer.byteLength - from.origin
    try {
      if (at + have > memory.buffer.byteLength)
        memory.grow(Math.ceil((at + have - memory.buffer.byteLength) / 65536))
    } catch {
      this.refused = memory
      return
    }
    new Uint8Array(memory.buffer, at, have).set(
      new Uint8Array(from.memory.buffer, from.origin, have),
    )
    moves++
    // the old memory is dropped (the private one, if made, stays the other)
    this.cur = arenaMemory(memory, true, at)
    this.f64 = this.view()
  }

  /**
   * Runs `kernel` with `args` (`args[0]`: the regions' length in bytes), on both threads where
   * a pass should split now (`passThreads`, `splitPass`), else on this one.
   */
  run(kernel: Kernel, args: readonly number[]): void {
    this.prepare(kernel)
    const { origin } = this.cur
    const abs = this.abs
    abs.length = args.length
    for (let i = 0; i < args.length; i++) abs[i] = kernel.addr[i] ? args[i] + origin : args[i]
    if (passThreads() && this.cur.shared) {
      const module = sharedModuleOf(kernel)
      if (
        module !== null &&
        splitPass(module, this.cur.memory, this.fn(kernel), abs, kernel.addr)
      ) {
        return
      }
    }
    this.fn(kernel)(...abs)
  }

  /** This thread's instance of `kernel` on the memory. */
  private fn(kernel: Kernel): (...args: number[]) => void {
    const { memory, shared, instances } = this.cur
    let fn = instances.get(kernel)
    if (fn === undefined) {
      const module = shared ? sharedModuleOf(kernel) : kernel.module
      if (module === null) throw new Error('residentPass: expected a kernel for a shared memory')
      const instance = new WebAssembly.Instance(module, { env: { memory } })
      fn = instance.exports.pass as (...args: number[]) => void
      instances.set(kernel, fn)
    }
    return fn
  }

  /**
   * A shared memory holding `bytes` from its origin: the band of the kernels' memory for a
   * pooled arena where it can have it, else one of its own; null where none can be had.
   */
  private sharedMemory(bytes: number): ArenaMemory | null {
    const band = this.band ? claimBand(this) : null
    if (band !== null) {
      const { memory, at } = band
      const have = memory.buffer.byteLength
      try {
        if (at + bytes > have) memory.grow(Math.ceil((at + bytes - have) / 65536))
        return arenaMemory(memory, true, at)
      } catch {
        // the band cannot hold them: a memory of its own
      }
    }
    const m = sharedMemory(bytes)
    return m === null ? null : arenaMemory(m, true, 0)
  }

  /**
   * Moves the numbers into the shared memory (`shared`) or the private one, made if need be, and
   * uses it from here on (the residences' offsets stay; their views are made anew from
   * `numbers`); false, moving nothing, where that memory cannot be had.
   */
  private use(shared: boolean): boolean {
    if (this.cur.shared === shared) return true
    const from = this.cur
    const have = from.memory.buffer.byteLength - from.origin
    let to = this.other
    if (to === null || to.shared !== shared) {
      to = shared ? this.sharedMemory(have) : privateMemory(have)
      if (to === null) return false
    }
    const room = to.memory.buffer.byteLength - to.origin
    try {
      if (room < have) to.memory.grow(Math.ceil((have - room) / 65536))
    } catch {
      return false
    }
    new Uint8Array(to.memory.buffer, to.origin, have).set(
      new Uint8Array(from.memory.buffer, from.origin, have),
    )
    moves++
    this.other = from
    this.cur = to
    this.f64 = this.view()
    return true
  }
}

const arenaMemory = (memory: WebAssembly.Memory, shared: boolean, origin: number): ArenaMemory => ({
  memory,
  shared,
  origin,
  instances: new WeakMap(),
})

const privateMemory = (bytes: number): ArenaMemory =>
  arenaMemory(new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) }), false, 0)

/**
 * The arenas of the resident passes, for the process: a pass that starts takes over an idle one
 * (its pages already touched, its memory already counted by the collector) rather than adding a
 * memory of its own: runs come and go (a bench, a sweep, a UI's restarts) and a run's end is not
 * seen in a synchronous job. Taking one over invalidates its old owner's residences (that owner
 * sees `owner` changed at its next step, and takes an arena again). What the old owner left there
 * is not copied out: an idle pass is most often a finished run's, whose last state nobody reads;
 * a state that is read replays (at most K steps), as a kept sum does whose home was taken over.
 */
const pool: Arena[] = []
/** Ticks once per resident leaf pass, in any run. */
let clock = 0
let takeovers = 0
/** arenas' numbers moved between their private and shared memories (`Arena.use`) */
let moves = 0

/**
 * The pool's arenas, how many times one was taken over and how many times an arena's numbers
 * moved between its private and shared memories (for tests).
 */
export function residentArenas(): {
  readonly arenas: number
  readonly takeovers: number
  readonly moves: number
} {
  return { arenas: pool.length, takeovers, moves }
}

/**
 * An arena for `owner`: the least recently used one of the pool when it is idle, else a new one.
 * Idle: not used for more than twice the pool's residences' ticks (a pass in use steps each of
 * its residences once in that many ticks, even stepped in turn with the others).
 */
function arenaFor(owner: object): Arena {
  let idle: Arena | null = null
  let held = 0
  for (const a of pool) {
    held += a.residences
    if (idle === null || a.lastUse < idle.lastUse) idle = a
  }
  let arena = idle !== null && clock - idle.lastUse > 2 * held ? idle : null
  if (arena === null) pool.push((arena = new Arena(true)))
  else {
    takeovers++
    arena.evict?.()
    arena.evict = null
  }
  arena.owner = owner
  arena.lastUse = clock
  arena.residences = 0
  return arena
}

/**
 * The pass as a `PassLoop` on JavaScript arrays, their operands copied into a private memory and
 * the results out at each call (no faster than the JavaScript loop: what the tests compare
 * against it), or null when a member is outside the subset or WebAssembly is unavailable.
 */
export function wasmPassLoop(
  members: readonly Member[],
  apply: boolean,
  trees: readonly (readonly string[])[] = [],
): PassLoop | null {
  const kernel = kernelOf(members, trees, apply)
  if (kernel === null) return null
  const js = passLoop(members, apply, trees)
  const arena = new Arena()
  const args: number[] = []
  const ts = kernel.trees
  return (k, old, next, p, g, q, a, len) => {
    if (!constants(kernel, k, args, 5) || (kernel.readsP && p.length < len)) {
      return js(k, old, next, p, g, q, a, len)
    }
    const size = padded(len)
    const regions = 3 + ts.reduce((n, f) => n + 2 * f.length, 0)
    const F = arena.numbers(regions * size)
    if (F === null) return js(k, old, next, p, g, q, a, len)
    let at = 0
    const region = (src: Float64Array | null) => {
      if (src !== null) F.set(src.subarray(0, len), at >> 3)
      return (at += size) - size
    }
    args[0] = size
    args[1] = a
    args[2] = region(kernel.readsP ? p : null)
    args[3] = region(g)
    args[4] = region(null)
    let c = 5
    for (let j = 0; j < ts.length; j++) {
      const fs = ts[j]
      if (kernel.rules[j] === null) c++
      else {
        for (let f = 0; f < fs.length; f++) args[c + f] = region(old[j][fs[f]])
        for (let f = 0; f < fs.length; f++) args[c + fs.length + f] = region(null)
        c += 2 * fs.length + kernel.rules[j]!.consts.length
      }
    }
    arena.run(kernel, args)
    q.set(F.subarray(args[4] >> 3, (args[4] >> 3) + len))
    c = 5
    for (let j = 0; j < ts.length; j++) {
      const fs = ts[j]
      if (kernel.rules[j] === null) c++
      else {
        for (let f = 0; f < fs.length; f++) {
          const from = args[c + fs.length + f] >> 3
          next[j][fs[f]].set(F.subarray(from, from + len))
        }
        c += 2 * fs.length + kernel.rules[j]!.consts.length
      }
    }
  }
}

/** Gradients a resident pass read where the tape left them in its memory (tests). */
export const gInPlace = { reads: 0 }

/** A chain's pass over leaves whose θ and slot arrays stay in wasm memory between steps. */
export interface ResidentPass {
  /**
   * Leaf number `leaf`'s pass, as `PassLoop` computes it (with `apply`), into `q` and the
   * arrays of `next`; false when it did not run (the caller runs the JavaScript loop).
   */
  run(leaf: number, ...pass: Parameters<PassLoop>): boolean
  /**
   * Leaf number `leaf`'s pass as `run` computes it, its outputs left in the pass's memory: θ′,
   * then per member with a rule, per tree field, the new array as a lazy source (read on
   * demand; see residentStates.ts); null when it did not run. `old`'s arrays and `p` may be
   * lazy sources too (the ones the last step left are used where they lie).
   */
  runLazy(
    leaf: number,
    k: readonly unknown[],
    old: readonly { readonly [field: string]: Float64Array | LazyData }[],
    p: Float64Array | LazyData,
    g: Float64Array | LazyData,
    a: number,
    len: number,
  ): readonly LazyData[] | null
}

/** Where a leaf's arrays sit, and what stands for the numbers they hold. */
interface Residence extends Home {
  len: number
  /** byte offsets: θ, g, then per member per tree field */
  readonly at: number[]
  /**
   * per region, the array or lazy source standing for its numbers now (the step's output: an
   * array `run` wrote, or `runLazy`'s source; null: none)
   */
  readonly cur: (Float64Array | ResidentData | null)[]
  used: number
  /** lazy steps since one was copied out */
  chain: number
  /** whether one of those steps' gradients holds numbers of its own (`pins`) */
  pins: boolean
}

/** Residences kept per leaf: two runs of one chain at once each keep theirs. */
const WAYS = 2

/**
 * A resident step's outputs are copied out for real every K-th step in a row (bench/RESULTS.md,
 * issue 17, session 12): a replay runs at most K steps, a kept state pins at most K gradients.
 */
export const RESIDENT_SETTLE_EVERY = 8

/**
 * K for a chain whose steps' gradients hold no numbers of their own (`pins`: a net's recipe's,
 * made by calling it again when read late, lazyGradient.ts; they keep the call's parameters and
 * batch: the chain's own outputs, short leaves, a batch drawn as rows). Each settle is a fresh
 * array per output (W5: 5.6 MB), and V8 counts those against its small old generation's limit:
 * settled every 8th step they started a full collection after nearly every young one
 * (bench/RESULTS.md, issue 21 session 20). A late read then replays up to 32 steps, each calling
 * the recipe again (the kept sums' K, keptSums.ts).
 */
export const RESIDENT_SETTLE_UNPINNED = 32

/**
 * Whether a step's gradient `g` keeps numbers of its own alive while a replay may need it: an
 * array, a lazy one but the tape's made by calling a recipe again (`pins` 0).
 */
const pins = (g: Float64Array | LazyData): boolean => g instanceof Float64Array || g.pins !== 0

/** Constants `k` as a replay hands them to the JavaScript loop: per rule, the ones it read. */
function keptConstants(rules: readonly (CompiledRule | null)[], k: readonly unknown[]): unknown[] {
  return rules.map((r, j) => {
    const kj = k[j]
    if (r === null || typeof kj === 'number') return kj
    const o: Record<string, unknown> = {}
    for (const name of r.consts) o[name!] = (kj as Record<string, unknown>)[name!]
    return o
  })
}

const asArray = (x: Float64Array | LazyData): Float64Array =>
  x instanceof Float64Array ? x : x.value()

/**
 * `runLazy`'s input `x`: `o` itself where the step before left it (`cur[x]`), else its numbers;
 * whether it was that step's own resident output. A function of the module, not a closure of
 * each step (tsx names those as they are made: src/autodiff/valueAndGrad.ts' Walk).
 */
function takeInput(
  ins: (Float64Array | ResidentData | null)[],
  cur: readonly (Float64Array | ResidentData | null)[],
  x: number,
  o: Float64Array | LazyData,
): boolean {
  const same = cur[x] === o
  ins[x] = same ? (o as Float64Array | ResidentData) : asArray(o)
  return same && o instanceof ResidentData
}

/**
 * The resident pass of `members` (their slot trees `trees`), applying θ + a·u: one per run of
 * a chain, its arena taken from the pool at the first leaf it runs (grown as needed), and again
 * when another pass took it over while this one was idle.
 */
export function residentPass(
  members: readonly Member[],
  trees: readonly (readonly string[])[],
): ResidentPass {
  let kernel: Kernel | null | undefined
  let arena: Arena | null = null
  let top = 0
  const leaves: Residence[][] = []
  const args: number[] = []
  const inputs: (Float64Array | null)[] = []

  /**
   * Forgets what `r` holds (read later, it replays); `copyOut`: copied out first, for a run that
   * still steps (its next step reads it).
   */
  const drop = (r: Residence, copyOut: boolean) => {
    if (copyOut) for (const c of r.cur) if (c instanceof ResidentData) c.settle()
    r.version++
    r.cur.fill(null)
    r.chain = 0
    r.pins = false
  }
  const dropAll = (copyOut: boolean) => {
    for (const ways of leaves) for (const r of ways ?? []) drop(r, copyOut)
    leaves.length = 0
    top = 0
    if (arena !== null) arena.residences = 0
  }

  /**
   * The residence of `leaf` for θ `p` of length `len`, its arrays laid out, θ and the slots
   * copied in where they are not the ones it holds; null when the pass does not run.
   */
  const enter = (
    leaf: number,
    k: readonly unknown[],
    old: readonly { readonly [field: string]: Float64Array | LazyData }[],
    p: Float64Array | LazyData,
    g: Float64Array | LazyData,
    a: number,
    len: number,
  ): Residence | null => {
    if (wasmMode === 'off' || (wasmMode === 'auto' && len < MIN_LENGTH)) return null
    if (kernel === undefined) kernel = kernelOf(members, trees, true)
    if (kernel === null || (wasmMode === 'auto' && kernel.heavy < MIN_HEAVY)) return null
    if (!constants(kernel, k, args, 5)) return null
    // a pass that will split: the helper wakes while this thread copies the inputs in
    wakeForPass(len)
    clock++
    if (arena === null || arena.owner !== self) {
      // first use, or another pass took the arena over (what it held of ours was forgotten:
      // read later, it replays)
      arena = arenaFor(self)
      arena.evict = () => dropAll(false)
      leaves.length = 0
      top = 0
    }
    arena.lastUse = clock
    const ts = kernel.trees
    const rules = kernel.rules
    // the residence whose arrays these are, else the least recently used one
    const ways = (leaves[leaf] ??= [])
    let best: Residence | null = null
    let score = -1
    for (const r of ways) {
      const s = r.len === len ? (r.cur[0] === p ? 2 : 1) : 0
      if (s > score || (s === score && r.used < best!.used)) ((best = r), (score = s))
    }
    let r = best
    if (r === null || (score < 2 && ways.length < WAYS)) {
      r = {
        len: 0,
        at: [],
        cur: [],
        used: 0,
        version: 0,
        chain: 0,
        pins: false,
        view: () => arena!.numbers(0)!,
      }
      ways.push(r)
      arena.residences++
    }
    const size = padded(len)
    if (r.len !== len) {
      const regions = 2 + ts.reduce((n, f) => n + f.length, 0)
      if (top + regions * size > 1 << 30) {
        // leaves changed their lengths many times: start again
        dropAll(true)
        return null
      }
      drop(r, true)
      r.len = len
      r.at.length = r.cur.length = 0
      for (let x = 0; x < regions; x++) (r.at.push(top + x * size), r.cur.push(null))
      top += regions * size
    } else if (r.cur[0] !== p) drop(r, true) // another run's θ: what it holds is copied out first
    r.used = clock
    // the memory the kernel will run on, before anything is copied in (offsetOf answers for it)
    arena.prepare(kernel)
    const F = arena.numbers(top)
    if (F === null) {
      dropAll(true)
      return null
    }
    const at = r.at
    const cur = r.cur
    // every input read before any is written (a lazy one may lie in a region written here)
    const ins = inputs
    ins[0] = cur[0] === p ? null : asArray(p)
    let c = 5
    let x = 2
    for (let j = 0; j < ts.length; j++) {
      const fs = ts[j]
      if (rules[j] === null) {
        c++
        continue
      }
      for (let f = 0; f < fs.length; f++, x++) {
        const o = old[j][fs[f]]
        ins[x] = cur[x] === o ? null : asArray(o)
        args[c + f] = args[c + fs.length + f] = at[x]
      }
      c += 2 * fs.length + rules[j]!.consts.length
    }
    // a lazy g (the tape's gradient) copied from where it lies, without making it, if it can be
    const gIn = g instanceof ResidentData ? g.value() : g
    const F2 = arena.numbers(0)!
    for (let y = 0; y < x; y++) {
      const i = ins[y]
      if (y !== 1 && i !== null) F2.set(i, at[y] >> 3)
      ins[y] = null
    }
    // a lazy g read where it lies in this memory (the tape's ∂W, a two-thread step's), else
    // copied from there without making it, if it can be
    const g0 = at[1] >> 3
    const lying = gIn instanceof Float64Array ? null : (gIn.lying?.() ?? null)
    const gAt = lying !== null && lying.length === len ? arena.offsetOf(lying) : null
    if (gAt !== null) gInPlace.reads++
    else if (gIn instanceof Float64Array) F2.set(gIn, g0)
    else if (!gIn.copyInto?.(F2.subarray(g0, g0 + len))) F2.set(gIn.value(), g0)
    args[0] = size
    args[1] = a
    args[2] = args[4] = at[0]
    args[3] = gAt ?? at[1]
    return r
  }

  const self: ResidentPass = {
    run(leaf, k, old, next, p, g, q, a, len) {
      const r = enter(leaf, k, old, p, g, a, len)
      if (r === null) return false
      const rules = kernel!.rules
      const ts = kernel!.trees
      r.version++
      arena!.run(kernel!, args)
      const F = arena!.numbers(0)!
      const { at, cur } = r
      q.set(F.subarray(at[0] >> 3, (at[0] >> 3) + len))
      cur[0] = q
      for (let j = 0, x = 2; j < ts.length; j++) {
        const fs = ts[j]
        if (rules[j] === null) continue
        for (let f = 0; f < fs.length; f++, x++) {
          const out = next[j][fs[f]]
          out.set(F.subarray(at[x] >> 3, (at[x] >> 3) + len))
          cur[x] = out
        }
      }
      r.chain = 0
      r.pins = false
      return true
    },
    runLazy(leaf, k, old, p, g, a, len) {
      const r = enter(leaf, k, old, p, g, a, len)
      if (r === null) return null
      const rules = kernel!.rules
      const ts = kernel!.trees
      const { at, cur } = r
      // the step's inputs: the outputs of the step before where they are (still) the ones held
      const ins: (Float64Array | ResidentData | null)[] = [null, null]
      let own = takeInput(ins, cur, 0, p)
      for (let j = 0, x = 2; j < ts.length; j++) {
        if (rules[j] !== null)
          for (const f of ts[j]) own = takeInput(ins, cur, x++, old[j][f]) || own
      }
      const outs: (ResidentData | null)[] = []
      const step: PassStep = {
        members,
        trees,
        ins,
        g,
        k: keptConstants(rules, k),
        a,
        len,
        outs,
      }
      r.version++
      arena!.run(kernel!, args)
      for (let x = 0; x < at.length; x++) {
        outs.push(x === 1 ? null : new ResidentData(len, r, r.version, at[x] >> 3, step))
        cur[x] = outs[x]
      }
      r.chain = own ? r.chain + 1 : 1
      r.pins = (own && r.pins) || pins(g)
      if (r.chain >= (r.pins ? RESIDENT_SETTLE_EVERY : RESIDENT_SETTLE_UNPINNED)) {
        for (const o of outs) o?.settle()
        r.chain = 0
        r.pins = false
      }
      return outs.filter((o) => o !== null)
    },
  }
  return self
}

// --- the module: one exported function `pass(end, a, p, g, q, …members)` over imported memory

const I32 = 0x7f
const F64 = 0x7c
const V128 = 0x7b

const SIMD_OP = {
  load: 0x00, store: 0x0b, splat: 0x14,
  '==': 0x47, '!=': 0x48, '<': 0x49, '>': 0x4a, '<=': 0x4b, '>=': 0x4c,
  not: 0x4d, and: 0x4e, or: 0x50, bitselect: 0x52,
  ceil: 0x74, floor: 0x75, trunc: 0x7a,
  abs: 0xec, neg: 0xed, sqrt: 0xef,
  '+': 0xf0, '-': 0xf1, '*': 0xf2, '/': 0xf3, min: 0xf4, max: 0xf5,
} as const // prettier-ignore

class Code {
  readonly b: number[] = []
  u(n: number): this {
    do {
      const byte = n & 0x7f
      n >>>= 7
      this.b.push(n === 0 ? byte : byte | 0x80)
    } while (n !== 0)
    return this
  }
  s(n: number): this {
    for (;;) {
      const byte = n & 0x7f
      n >>= 7
      if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
        this.b.push(byte)
        return this
      }
      this.b.push(byte | 0x80)
    }
  }
  op(...bytes: number[]): this {
    this.b.push(...bytes)
    return this
  }
  simd(o: number): this {
    return this.op(0xfd).u(o)
  }
  get(l: number): this {
    return this.op(0x20).u(l)
  }
  set(l: number): this {
    return this.op(0x21).u(l)
  }
  f64(v: number): this {
    const d = new DataView(new ArrayBuffer(8))
    d.setFloat64(0, v, true)
    return this.op(0x44, ...new Uint8Array(d.buffer))
  }
  /** v128 at address local `addr` + the offset local `off` */
  load(addr: number, off: number): this {
    return this.get(addr).get(off).op(0x6a).simd(SIMD_OP.load).u(4).u(0)
  }
  bytes(xs: readonly number[]): this {
    return this.u(xs.length).op(...xs)
  }
  name(s: string): this {
    return this.bytes([...s].map((c) => c.charCodeAt(0)))
  }
}

/** The module running `rules` (null: a scaling) over trees `trees`, then θ + a·u with `apply`. */
function moduleBytes(
  rules: readonly (CompiledRule | null)[],
  trees: readonly (readonly string[])[],
  apply: boolean,
  shared = false,
): number[] {
  const params = [I32, F64, I32, I32, I32]
  const [END, A, P, G, Q] = [0, 1, 2, 3, 4]
  const layout = rules.map((r, j) => {
    const first = params.length
    if (r === null) {
      params.push(F64)
      return { first, old: [], next: [], consts: [first] }
    }
    const n = trees[j].length
    for (let f = 0; f < 2 * n; f++) params.push(I32)
    for (let c = 0; c < r.consts.length; c++) params.push(F64)
    const range = (from: number, count: number) => Array.from({ length: count }, (_, x) => from + x)
    return {
      first,
      old: range(first, n),
      next: range(first + n, n),
      consts: range(first + 2 * n, r.consts.length),
    }
  })
  const OFF = params.length
  let vectors = 0
  const vector = () => OFF + 1 + vectors++
  const pre = new Code()
  const body = new Code()
  const splat = (param: number) => {
    const l = vector()
    pre.get(param).simd(SIMD_OP.splat).set(l)
    return l
  }
  const literals: [number, number][] = []
  const literal = (v: number) => {
    const known = literals.find(([x]) => Object.is(x, v))
    if (known !== undefined) return known[1]
    const l = vector()
    pre.f64(v).simd(SIMD_OP.splat).set(l)
    literals.push([v, l])
    return l
  }
  const aV = apply ? splat(A) : -1
  const consts = layout.map((m) => m.consts.map(splat))
  const U = vector()
  const readsP = apply || rules.some((r) => r !== null && reads(r, (e) => e.op === 'p'))
  const PV = readsP ? vector() : -1

  // the loop: while off < end, two elements at a time
  body.op(0x02, 0x40, 0x03, 0x40)
  body.get(OFF).get(END).op(0x4f, 0x0d, 1) // i32.ge_u, br_if 1
  // every old value is read before anything is stored: in place, next is old
  const olds = rules.map((r, j) => {
    if (r === null) return []
    return trees[j].map((_, f) => {
      if (!reads(r, (e) => e.op === 'old' && e.f === f)) return -1
      const l = vector()
      body.load(layout[j].old[f], OFF).set(l)
      return l
    })
  })
  if (readsP) body.load(P, OFF).set(PV)
  body.load(G, OFF).set(U)
  rules.forEach((r, j) => {
    if (r === null) {
      body.get(consts[j][0]).get(U).simd(SIMD_OP['*']).set(U)
      return
    }
    const locals = Array.from({ length: r.locals }, vector)
    const ex = (e: Expr): void => {
      switch (e.op) {
        case 'lit':
          body.get(literal(e.v))
          return
        case 'k':
          body.get(consts[j][e.c])
          return
        case 'g':
          body.get(U)
          return
        case 'old':
          body.get(olds[j][e.f])
          return
        case 'p':
          body.get(PV)
          return
        case 'local':
          body.get(locals[e.id])
          return
        case 'sign': {
          // x > 0 ? 1 : x < 0 ? −1 : x (±0 and NaN kept)
          const t = vector()
          ex(e.a)
          body.set(t)
          body.get(literal(1)).get(literal(-1)).get(t)
          body.get(t).get(literal(0)).simd(SIMD_OP['<']).simd(SIMD_OP.bitselect)
          body.get(t).get(literal(0)).simd(SIMD_OP['>']).simd(SIMD_OP.bitselect)
          return
        }
        case 'truthy': {
          // neither 0 nor NaN
          const t = vector()
          ex(e.a)
          body.set(t)
          body.get(t).get(literal(0)).simd(SIMD_OP['!='])
          body.get(t).get(t).simd(SIMD_OP['==']).simd(SIMD_OP.and)
          return
        }
        case '?':
          ex(e.a)
          ex(e.b)
          ex(e.c)
          body.simd(SIMD_OP.bitselect)
          return
        case 'neg':
        case 'sqrt':
        case 'abs':
        case 'floor':
        case 'ceil':
        case 'trunc':
        case 'not':
          ex(e.a)
          body.simd(SIMD_OP[e.op])
          return
        default:
          ex(e.a)
          ex(e.b)
          body.simd(SIMD_OP[e.op])
      }
    }
    for (const s of r.steps) {
      if (s.kind === 'set') {
        ex(s.e)
        body.set(locals[s.id])
      } else {
        body.get(layout[j].next[s.f]).get(OFF).op(0x6a).get(locals[s.id])
        body.simd(SIMD_OP.store).u(4).u(0)
      }
    }
    ex(r.result)
    body.set(U)
  })
  // q = p + a·u (or u)
  body.get(Q).get(OFF).op(0x6a)
  if (apply) body.get(PV).get(aV).get(U).simd(SIMD_OP['*']).simd(SIMD_OP['+'])
  else body.get(U)
  body.simd(SIMD_OP.store).u(4).u(0)
  body.get(OFF).op(0x41).s(16).op(0x6a).set(OFF).op(0x0c, 0) // off += 16, br 0
  body.op(0x0b, 0x0b)

  const fn = new Code()
    .u(2)
    .u(1)
    .op(I32)
    .u(vectors)
    .op(V128)
    .op(...pre.b, ...body.b, 0x0b)
  const section = (id: number, content: Code) => [
    id,
    ...new Code().u(content.b.length).b,
    ...content.b,
  ]
  return [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, new Code().u(1).op(0x60).bytes(params).u(0)),
    // the memory: private (limits: at least 0 pages), or shared (0 … MAX_PAGES pages)
    ...section(
      2,
      shared
        ? new Code().u(1).name('env').name('memory').op(0x02, 0x03).u(0).u(MAX_PAGES)
        : new Code().u(1).name('env').name('memory').op(0x02, 0x00).u(0),
    ),
    ...section(3, new Code().u(1).u(0)),
    ...section(7, new Code().u(1).name('pass').op(0x00).u(0)),
    ...section(10, new Code().u(1).bytes(fn.b)),
  ]
}
