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
// sums. The next tape call copies the sum into its arena from its home without making it.
import {
  addScaledData,
  addScaledInto,
  addScaledJs,
  addScaledLazy,
} from './kernels/addScaledKernel.js'
import { resolvedBackend } from './kernels/gemmKernel.js'
import { addScaledTwinWasm, twinLastSum } from './kernels/wasmKernels.js'
import { HeldData } from './heldData.js'
import type { LazyData } from './lazyData.js'
import { uninitializedF64 } from './uninitialized.js'

/** Leaves shorter than this get a fresh array (a home costs more than it saves). */
const MIN_LENGTH = 4096

/** A chain's every this-many-th sum is copied out at once (a replay's bound). */
export const SETTLE_EVERY = 8

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
    return this.home.array
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

/** A home for `length` numbers: an idle one, a new one within bounds, else the LRU one. */
function takeHome(length: number): Home {
  let idle: Home | null = null
  let lru: Home | null = null
  for (const h of homes) {
    if (h.array.length !== length) continue
    const o = h.occupant
    if ((o === null || o.made() || !o.lies()) && (idle === null || h.used < idle.used)) idle = h
    if (lru === null || h.used < lru.used) lru = h
  }
  if (idle !== null) return idle
  if (lru !== null && (homes.length >= MAX_HOMES || homeBytes + length * 8 > MAX_HOME_BYTES)) {
    return lru
  }
  if (homes.length >= MAX_HOMES || homeBytes + length * 8 > MAX_HOME_BYTES) {
    // every home has another length: the least recently used one goes
    let old = 0
    for (let i = 1; i < homes.length; i++) if (homes[i].used < homes[old].used) old = i
    const [h] = homes.splice(old, 1)
    h.version++ // its occupant replays from now on
    homeBytes -= h.array.length * 8
  }
  const h: Home = { array: new Float64Array(length), version: 0, occupant: null, used: 0 }
  homes.push(h)
  homeBytes += length * 8
  return h
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
  if (!enabled || len < MIN_LENGTH || x.length !== len || resolvedBackend() !== 'wasm') return null
  const prev = x instanceof KeptSum ? x : null
  const inPlace = prev !== null && prev.lies()
  const home = inPlace ? prev.home : takeHome(len)
  const out = home.array
  // x and y where the tape's step left them (its W1 and lazy ∂W1): summed there, then copied
  // home (and left there too: the next call reads it there); else y's numbers first (y may lie
  // in this home: x + a·x), then x's, then the sum
  const twin = !(y instanceof Float64Array) && addScaledTwinWasm(x, y, a, out)
  if (!twin) {
    // a lazy y copied where it lies if it can be (not a read: the tape's next gradients stay lazy)
    const ys = y instanceof Float64Array ? y : y.copyInto?.(scratchOf(len)) ? scratch : y.value()
    if (inPlace) addScaledInto(out, ys, a, out)
    else addScaledInto(x instanceof Float64Array ? x : x.value(), ys, a, out)
  }
  home.version++
  home.used = ++clock
  keptSums.made++
  const depth = prev !== null && !prev.made() ? prev.depth + 1 : 1
  const sum = new KeptSum(len, home, home.version, x, y, a, depth)
  if (twin) twinLastSum(sum)
  home.occupant = sum
  if (depth >= SETTLE_EVERY) sum.settle()
  return sum
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
  return y instanceof Float64Array ? addScaledData(xs, y, a) : addScaledLazy(xs, y, a)
}
