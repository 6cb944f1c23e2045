// Internal (not exported from src/index.ts): the update's θ + a·u for a long leaf (sgd's step,
// `update`) written into memory the library owns and reuses — a home for the leaf — instead of
// a fresh array each step, and left there as a lazy tensor (src/tensor/lazyData.ts). A fresh
// array a step is what W3's step spent most of its overhead on: its allocation, its cold copy
// and the collections it brings (under tsx, full ones: bench/tsxVsBuilt.ts).
//
// The sum is held in its home (./heldData.ts): read after the next step summed over it in place
// or another leaf took the home over, it is replayed — x + a·y by the JavaScript loop from the
// inputs it kept: x (an array, or the sum of the step before) and y (an array, or the tape's lazy
// gradient, which recomputes itself), the same bits as the kernels (one rounded multiply, one
// rounded add). Every SETTLE_EVERY-th sum of a chain is settled: a replay runs at most that many
// sums. The next tape call copies the sum into its arena from its home without making it — or,
// for a sum made where the tape's call left W and ∂W, finds it there: such a sum is copied home
// only when something would read its home or write over it first (wasmKernels.ts `unhomed`).
// A line search writes its trial points θ + η·u into homes (`SumDrafts`) and keeps the one it
// accepts there as x + a·y alike, reading θ where it lies (`lyingNumbers`).
import {
  addScaledData,
  addScaledInto,
  addScaledJs,
  addScaledLazy,
} from './kernels/addScaledKernel.js'
import { resolvedBackend } from './kernels/gemmKernel.js'
import {
  addScaledTwinWasm,
  claimUnhomed,
  flushUnhomedInto,
  isUnhomed,
  twinLastSum,
} from './kernels/wasmKernels.js'
import { HeldData } from './heldData.js'
import { type LazyData, markValue } from './lazyData.js'
import { uninitializedF64 } from './uninitialized.js'

/** Leaves shorter than this get a fresh array (a home costs more than it saves). */
const MIN_LENGTH = 4096

/**
 * A chain's every this-many-th sum is copied out at once (a replay's bound). Each copy is a fresh
 * array of the leaf's length, and at 8 those copies kept V8 starting a full collection after
 * nearly every young one (W3 under 'auto'); a late reader replays at most this many sums.
 */
export const SETTLE_EVERY = 32

/** Homes kept at most, and their bytes at most: past both, the LRU one is taken over. */
const MAX_HOMES = 16
const MAX_HOME_BYTES = 64 * 2 ** 20

let enabled = true

/**
 * Whether long leaves' sums are kept in homes (default true); returns the previous setting. For
 * tests and benches comparing with fresh arrays.
 */
export function setKeptSums(on: boolean): boolean {
  const was = enabled
  enabled = on
  return was
}

/** Sums kept so far, and how their data was made when read (tests, benches). */
export const keptSums = { made: 0, copied: 0, replayed: 0, settled: 0 }

/** Memory the library owns for one leaf's sums: written in place step after step. */
interface Home {
  readonly array: Float64Array
  version: number
  /** the sum it holds now */
  occupant: KeptSum | null
  used: number
}

const homes: Home[] = []
let homeBytes = 0
let clock = 0

/** One step's θ + a·u, in its home until read (see the file's head). */
class KeptSum extends HeldData<Home, readonly (Float64Array | LazyData)[]> {
  protected readonly reads = keptSums
  constructor(
    length: number,
    home: Home,
    version: number,
    x: Float64Array | LazyData,
    y: Float64Array | LazyData,
    private readonly a: number,
    /** sums back to the last one made (this one included) */
    readonly depth: number,
  ) {
    super(length, home, version, [x, y])
  }

  protected view(): Float64Array {
    flushUnhomedInto(this.home.array)
    return this.home.array
  }

  /** Not where it lies unhomed (readers look for a view of their own memory, not a copy home). */
  override lying(): Float64Array | null {
    return isUnhomed(this.home.array) ? null : super.lying()
  }

  protected replay(): void {
    keptSums.replayed++
    const [x, y] = this.kept!.map((s) => (s instanceof Float64Array ? s : s.value()))
    const out = uninitializedF64(this.length)
    addScaledJs(x, y, this.a, out)
    this.fill(out)
  }
}

/** Numbers of a lazy y copied for one sum (the library's own, reused). */
let scratch = new Float64Array(0)
const scratchOf = (length: number) =>
  scratch.length === length ? scratch : (scratch = new Float64Array(length))

/**
 * A home for `length` numbers: an idle one, a new one within bounds, else the LRU one; never one
 * of `except` (homes the caller reads or writes meanwhile).
 */
function takeHome(length: number, except: readonly Home[] = []): Home {
  let idle: Home | null = null
  let lru: Home | null = null
  for (const h of homes) {
    if (h.array.length !== length || except.includes(h)) continue
    const o = h.occupant
    if ((o === null || o.made() || !o.lies()) && (idle === null || h.used < idle.used)) idle = h
    if (lru === null || h.used < lru.used) lru = h
  }
  if (idle !== null) return idle
  if (lru !== null && (homes.length >= MAX_HOMES || homeBytes + length * 8 > MAX_HOME_BYTES)) {
    return lru
  }
  if (homes.length >= MAX_HOMES || homeBytes + length * 8 > MAX_HOME_BYTES) {
    // every home has another length (or is excepted): the least recently used other one goes
    let old = -1
    for (let i = 0; i < homes.length; i++) {
      if (!except.includes(homes[i]) && (old < 0 || homes[i].used < homes[old].used)) old = i
    }
    if (old >= 0) {
      const [h] = homes.splice(old, 1)
      h.version++ // its occupant replays from now on
      homeBytes -= h.array.length * 8
    }
  }
  const h: Home = { array: new Float64Array(length), version: 0, occupant: null, used: 0 }
  homes.push(h)
  homeBytes += length * 8
  return h
}

/** Whether `x + a·y` over `len` numbers goes to a home (long leaves, the wasm backend, on). */
const keepable = (x: { length: number }, len: number): boolean =>
  enabled && len >= MIN_LENGTH && x.length === len && resolvedBackend() === 'wasm'

/**
 * Where a sum over `x` is written: `x`'s own home when `x` is the sum of the step before and
 * still lies there (summed over in place: `x` replays if read later), else another.
 */
function homeOver(x: Float64Array | LazyData, len: number) {
  const prev = x instanceof KeptSum ? x : null
  const inPlace = prev !== null && prev.lies()
  return { prev, inPlace, home: inPlace ? prev.home : takeHome(len) }
}

/** The sum `x + a·y` just written into `home`, kept there (every SETTLE_EVERY-th settled). */
function keptIn(
  home: Home,
  prev: KeptSum | null,
  x: Float64Array | LazyData,
  y: Float64Array | LazyData,
  a: number,
  /** whether it was summed where the tape left x and y (then noted as lying there too) */
  twin = false,
): KeptSum {
  home.version++
  home.used = ++clock
  keptSums.made++
  const depth = prev !== null && !prev.made() ? prev.depth + 1 : 1
  const sum = new KeptSum(home.array.length, home, home.version, x, y, a, depth)
  if (twin) {
    twinLastSum(sum)
    claimUnhomed(sum, home.array)
  }
  home.occupant = sum
  if (depth >= SETTLE_EVERY) sum.settle()
  return sum
}

/**
 * `x + a·y` (equal lengths) kept in a home as a lazy source, or null where a fresh array serves
 * (short leaves, the JavaScript backend, turned off). `x` may be the sum of the step before:
 * then it is summed over in place.
 */
function addScaledKept(
  x: Float64Array | LazyData,
  y: Float64Array | LazyData,
  a: number,
): KeptSum | null {
  const len = y.length
  if (!keepable(x, len)) return null
  const { prev, inPlace, home } = homeOver(x, len)
  const out = home.array
  // x and y where the tape's step left them (its W1 and lazy ∂W1): summed there and left there
  // (the next call reads it there), copied home only if anything else would read it or write
  // over it first (wasmKernels.ts `unhomed`); else y's numbers first (y may lie in this home:
  // x + a·x), then x's, then the sum
  const twin = !(y instanceof Float64Array) && addScaledTwinWasm(x, y, a, out, true)
  if (!twin) {
    flushUnhomedInto(out)
    // a lazy y copied where it lies if it can be (not a read: the tape's next gradients stay lazy)
    const ys = y instanceof Float64Array ? y : y.copyInto?.(scratchOf(len)) ? scratch : y.value()
    if (inPlace) addScaledInto(out, ys, a, out)
    else addScaledInto(x instanceof Float64Array ? x : x.value(), ys, a, out)
  }
  return keptIn(home, prev, x, y, a, twin)
}

/** `x`'s numbers where they lie, not made by asking: its array, or a kept sum's home; else null. */
export function lyingNumbers(x: Float64Array | LazyData): Float64Array | null {
  if (x instanceof Float64Array) return x
  if (!(x instanceof KeptSum)) return null
  if (x.made()) return x.value()
  if (!x.lies()) return null
  flushUnhomedInto(x.home.array)
  return x.home.array
}

/**
 * Homes a caller writes sums into before it knows which one it keeps (a line search's trial
 * points θ + η·u, one per η, while θ, maybe the chain's last sum in a home, is read): one per
 * leaf, never the home of any `x` nor another leaf's, the caller's own two taken in turn while
 * nobody else took them. `open` drops what such a home held (a sum kept there replays if read);
 * `keep` keeps the numbers written last as x + a·y, as `addScaledLeaf` keeps its sum.
 */
export class SumDrafts {
  /** per leaf, the homes it wrote (at most two) and their versions since */
  private readonly own: { home: Home; version: number }[][] = []
  /** per leaf, this step's home and its version when opened (null: the caller's scratch) */
  private readonly open_: ({ home: Home; version: number } | null)[] = []

  /**
   * Per leaf of `xs`, an array of its length to write a sum over it into (all of it, before
   * reading), or null where a home does not serve (short leaves, the JavaScript backend, off).
   */
  open(xs: readonly (Float64Array | LazyData)[]): (Float64Array | null)[] {
    const busy: Home[] = []
    for (const x of xs) if (x instanceof KeptSum && x.lies()) busy.push(x.home)
    this.open_.length = xs.length
    return xs.map((x, j) => {
      const len = x.length
      if (!keepable(x, len)) return (this.open_[j] = null)
      const own = (this.own[j] ??= [])
      let mine = own.find(
        (o) =>
          o.home.version === o.version && o.home.array.length === len && !busy.includes(o.home),
      )
      if (mine === undefined) {
        if (own.length >= 2) own.shift()
        mine = { home: takeHome(len, busy), version: 0 }
        own.push(mine)
      }
      const h = mine.home
      busy.push(h)
      h.version++ // what it held replays from now on
      h.occupant = null
      h.used = ++clock
      this.open_[j] = { home: h, version: (mine.version = h.version) }
      return h.array
    })
  }

  /**
   * Leaf `j`'s numbers written last into `open`'s array, which ARE `x + a·y` bit for bit (the
   * caller's word), kept as that sum; null if its home was written or taken since.
   */
  keep(
    j: number,
    x: Float64Array | LazyData,
    y: Float64Array | LazyData,
    a: number,
  ): LazyData | null {
    const o = this.open_[j]
    if (o === null || o === undefined || o.home.version !== o.version) return null
    const sum = keptIn(o.home, x instanceof KeptSum ? x : null, x, y, a)
    const mine = this.own[j].find((m) => m.home === o.home)
    if (mine !== undefined) mine.version = o.home.version
    this.open_[j] = null
    return sum
  }
}

/**
 * θ + a·u for one leaf, THE update's sum: a lazy source kept in a home for a long leaf on the
 * wasm backend (see the file's head), else a fresh array (a lazy `y` summed where the tape left
 * it, when it can be). `x` and `y` of equal lengths, either lazy (their data read only if needed).
 */
export function addScaledLeaf(
  x: Float64Array | LazyData,
  y: Float64Array | LazyData,
  a: number,
): Float64Array | LazyData {
  const kept = addScaledKept(x, y, a)
  if (kept !== null) return kept
  const xs = x instanceof Float64Array ? x : x.value()
  return markValue(y instanceof Float64Array ? addScaledData(xs, y, a) : addScaledLazy(xs, y, a))
}
