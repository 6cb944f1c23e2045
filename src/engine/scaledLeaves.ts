// Scaled updates made on first read. A scaling (u ↦ c·u) that runs alone, not inside an
// optimizer's pass (`scaleByLearningRate(1)` before a line search), gives tensors whose numbers
// c·u are made when first read, remembering c and u: a consumer that knows how they are made
// (the line search's slope ⟨c·u, g⟩ and trial points θ + η·(c·u)) computes from u itself, and
// the c·u array is made only if someone reads it. The same numbers either way: each element
// rounded as the eager loop rounds it, factor after factor. u is a state's array (never written),
// or a lazy source (the tape's ∂W) left unread: its numbers are copied where they lie, so the
// tape keeps its next gradients lazy too. The line search's own memory (`TrialPoints`, at the
// end) writes its trial points into homes the library owns and keeps the accepted one there as
// the next θ (src/tensor/keptSums.ts `SumDrafts`).

import { type LazyData, lazyDataOf, lazyTensor, numbersOf } from '../tensor/lazyData.js'
import { isTensor } from '../tensor/tensor.js'
import { addScaledInto } from '../tensor/kernels/addScaledKernel.js'
import { addScaledTwinWasm } from '../tensor/kernels/wasmKernels.js'
import { lyingNumbers, SumDrafts } from '../tensor/keptSums.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import type { Params } from '../tree/tree.js'
import { frozenShape } from './leaves.js'

/** Leaves shorter than this are scaled at once: too little to gain, a closure to lose. */
const MIN_LENGTH = 4096

/** How a lazily scaled leaf is made: fₖ·(… (f₁·src)), each product rounded. */
interface Scaled extends LazyData {
  readonly factors: readonly number[]
  readonly src: Float64Array | LazyData
}
const scaledSources = new WeakSet<LazyData>()

function scaled(factors: readonly number[], src: Float64Array | LazyData): Scaled {
  let data: Float64Array | undefined
  const lz: Scaled = {
    length: src.length,
    factors,
    src,
    value: () => (data ??= scaledCopy(factors, src)),
  }
  scaledSources.add(lz)
  return lz
}

function scaledCopy(factors: readonly number[], src: Float64Array | LazyData): Float64Array {
  const o = uninitializedF64(src.length)
  // a lazy source's numbers copied into o, then scaled in place: the same products
  scaleRange(factors[0], numbersOf(src, o), o, 0, o.length)
  for (let k = 1; k < factors.length; k++) scaleRange(factors[k], o, o, 0, o.length)
  return o
}

/** o = c·g on [from, to): the engine's scaling kernel. */
export function scaleRange(
  c: number,
  g: Float64Array,
  o: Float64Array,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) o[i] = c * g[i]
}

/**
 * c·u over a tree: the values and structure (records by sorted key, deeply frozen) of
 * `zipTree`-style scaling, long tensors made on first read (see above).
 */
export function scaledTree(u: Params, c: number): Params {
  if (typeof u === 'number') return c * u
  if (isTensor(u)) {
    const lz = lazyDataOf(u)
    const shape = frozenShape(u.shape)
    if (lz !== undefined && scaledSources.has(lz)) {
      const s = lz as Scaled
      return Object.freeze(lazyTensor(shape, scaled([...s.factors, c], s.src)))
    }
    if (lz !== undefined && lz.length >= MIN_LENGTH)
      return Object.freeze(lazyTensor(shape, scaled([c], lz))) // over the source, unread
    const data = u.data
    if (data.length >= MIN_LENGTH) return Object.freeze(lazyTensor(shape, scaled([c], data)))
    const o = uninitializedF64(data.length)
    scaleRange(c, data, o, 0, o.length)
    return Object.freeze({ shape, data: o })
  }
  if (Array.isArray(u)) return Object.freeze(u.map((x: Params) => scaledTree(x, c)))
  const out: Record<string, Params> = {}
  const r = u as Record<string, Params>
  for (const k of Object.keys(r).sort()) out[k] = scaledTree(r[k], c)
  return Object.freeze(out)
}

/** A leaf as c·s: a lazily scaled one by its source, any other as 1·itself (the same bits). */
export interface ScaledLeaf {
  readonly c: number
  readonly s: Float64Array
}

/** The leaf `x` (a leaf array, or a lazy tensor's source) as c·s. */
export function scaledLeaf(x: Float64Array | LazyData): ScaledLeaf {
  return scaledLeafOver(x, (src) => src.value())
}

/** `scaledLeaf`, a lazy source's numbers taken by `numbers` (copied where they lie). */
export function scaledLeafOver(
  x: Float64Array | LazyData,
  numbers: (src: LazyData) => Float64Array,
): ScaledLeaf {
  if (x instanceof Float64Array) return { c: 1, s: x }
  if (scaledSources.has(x)) {
    const { factors, src } = x as Scaled
    if (factors.length === 1)
      return { c: factors[0], s: src instanceof Float64Array ? src : numbers(src) }
  }
  return { c: 1, s: x.value() }
}

/** `scratch[j]`, made to fit `length` (its numbers unspecified). */
function fitted(scratch: Float64Array[], j: number, length: number): Float64Array {
  if (scratch[j]?.length !== length) scratch[j] = uninitializedF64(length)
  return scratch[j]
}

/** `xs`' numbers: a leaf array itself, a lazy source's copied into `scratch[j]` (made to fit). */
function numbersIn(
  xs: readonly (Float64Array | LazyData)[],
  scratch: Float64Array[],
): Float64Array[] {
  return xs.map((x, j) => {
    if (x instanceof Float64Array) return x
    return numbersOf(x, fitted(scratch, j, x.length))
  })
}

/** The source of `x` scaled once (c·src, made on first read), else undefined. */
function scaledOnce(x: Float64Array | LazyData): Float64Array | LazyData | undefined {
  if (x instanceof Float64Array || !scaledSources.has(x)) return undefined
  const { factors, src } = x as Scaled
  return factors.length === 1 ? src : undefined
}

/**
 * The line search's u (as c·s) and g, lazy sources left unread (the tape's ∂W: a read turns its
 * next gradients eager): a lazy g copied into `scratch[j]` (the caller's, one per run, made to
 * fit here; library-owned, never handed out), u = c·g taken from that copy.
 */
function directionAndGradient(
  us: readonly (Float64Array | LazyData)[],
  gs: readonly (Float64Array | LazyData)[],
  scratch: Float64Array[],
): { readonly u: readonly ScaledLeaf[]; readonly g: readonly Float64Array[] } {
  const g = numbersIn(gs, scratch)
  const u = us.map((x, j) => scaledLeafOver(x, (src) => (src === gs[j] ? g[j] : src.value())))
  return { u, g }
}

/** How trials scale u = c·s: θ + (k·η)·d, the bits of θ + η·(c·s) (see `slopeAndDirection`). */
export interface TrialDirection {
  readonly k: number
  readonly d: Float64Array
}

/**
 * The line search's slope ⟨u, g⟩ (in index order, leaf after leaf: the bits of the plain sum)
 * and its trials' direction: s itself where c = ±1 (c·s is exact, and η·(±s) = (±η)·s bit for
 * bit: rounding is symmetric), else c·s written into `scratch[j]` (made to fit) in the same pass.
 */
export function slopeAndDirection(
  u: readonly ScaledLeaf[],
  g: readonly Float64Array[],
  scratch: Float64Array[],
): { readonly slope: number; readonly dir: readonly TrialDirection[] } {
  let slope = 0
  const dir = u.map(({ c, s }, j): TrialDirection => {
    if (c === 1 || c === -1) {
      slope = slopeLeaf(s, c, g[j], slope)
      return { k: c, d: s }
    }
    const d = fitted(scratch, j, s.length) // written next
    slope = slopeScaleLeaf(s, c, g[j], d, slope)
    return { k: 1, d }
  })
  return { slope, dir }
}

function slopeLeaf(s: Float64Array, c: number, g: Float64Array, acc: number): number {
  for (let i = 0; i < s.length; i++) acc += c * s[i] * g[i]
  return acc
}

function slopeScaleLeaf(
  s: Float64Array,
  c: number,
  g: Float64Array,
  o: Float64Array,
  acc: number,
): number {
  for (let i = 0; i < s.length; i++) {
    const u = c * s[i]
    o[i] = u
    acc += u * g[i]
  }
  return acc
}

/** A trial point's leaf: out = θ + η·u as θ + (k·η)·d, by the update's kernel (wasm on long leaves). */
export function trialLeaf(
  theta: Float64Array,
  { k, d }: TrialDirection,
  eta: number,
  out: Float64Array,
): void {
  addScaledInto(theta, d, k * eta, out)
}

/**
 * A line search's run scratch (library-owned, never handed out, reused step after step): a
 * step's lazy g copied where it lies (the tape's ∂W, left unread), c·u where c ≠ ±1, and its
 * trial points θ + η·u, written into homes (`SumDrafts`, src/tensor/keptSums.ts) where they
 * serve, θ read where it lies (the last step's accepted point, kept there). The accepted point
 * is kept where it was written, as the next parameters' leaves: nothing copied or handed over.
 */
export class TrialPoints {
  private readonly drafts = new SumDrafts()
  private readonly thetas: Float64Array[] = []
  private readonly gs: Float64Array[] = []
  private readonly us: Float64Array[] = []
  private readonly scratch: Float64Array[] = []
  private x: readonly (Float64Array | LazyData)[] = []
  /** per leaf, a lazy θ's copy (null: read where it lies at each trial) */
  private copies: readonly (Float64Array | null)[] = []
  private out: readonly Float64Array[] = []
  /** per leaf, whether `out` is a home's (else the scratch's) */
  private homed: readonly boolean[] = []
  private dir: readonly TrialDirection[] = []
  private g: readonly (Float64Array | LazyData)[] = []
  /** per leaf, whether u = ±g over the tape's lazy g: its first point summed where both lie */
  private twin: readonly boolean[] = []
  private first = false
  /** steps started and points written so far (the last point is kept only while it is last) */
  private written = 0

  /** A step's θ, u and g (leaf sources, lazy ones left unread): its slope ⟨u, g⟩. */
  start(
    theta: readonly (Float64Array | LazyData)[],
    u: readonly (Float64Array | LazyData)[],
    g: readonly (Float64Array | LazyData)[],
  ): number {
    this.x = theta
    this.written++ // an earlier step's point can be kept no more
    // a lazy θ that does not lie in a home (the resident pass's θ, a user's) copied once
    this.copies = theta.map((x, j) =>
      lyingNumbers(x) !== null ? null : numbersOf(x, fitted(this.thetas, j, x.length)),
    )
    const homes = this.drafts.open(theta)
    this.homed = homes.map((h) => h !== null)
    this.out = homes.map((h, j) => h ?? fitted(this.scratch, j, theta[j].length))
    const d = directionAndGradient(u, g, this.gs)
    const { slope, dir } = slopeAndDirection(d.u, d.g, this.us)
    this.dir = dir
    this.g = g
    // (c = ±1: u's numbers are ±g's; else c·g lies in scratch)
    this.twin = u.map(
      (x, j) => !(g[j] instanceof Float64Array) && scaledOnce(x) === g[j] && dir[j].d === d.g[j],
    )
    this.first = true
    return slope
  }

  /** θ + η·u (rewritten by the next call, never to be kept by the caller). */
  at(eta: number): readonly Float64Array[] {
    for (let j = 0; j < this.out.length; j++) {
      const x = this.x[j]
      const out = this.out[j]
      // the first point of ±η·g over the tape's ∂W: θ and g where its step left them in wasm
      if (this.first && this.twin[j] && addScaledTwinWasm(x, this.g[j], this.dir[j].k * eta, out))
        continue
      // θ where it lies now (if its home was taken meanwhile, its numbers replayed)
      const theta = this.copies[j] ?? lyingNumbers(x) ?? (x as LazyData).value()
      trialLeaf(theta, this.dir[j], eta, out)
    }
    this.first = false
    this.written++
    return this.out
  }

  /**
   * The last point, `x + η·y` leaf for leaf (x, y: the step's θ and u sources), as a tree by
   * `build` over leaves kept where they were written (a short leaf copied out of the scratch),
   * or null once a later point or another sum overwrote it: the sum `handOverSum` offers.
   */
  keeper(
    x: readonly (Float64Array | LazyData)[],
    y: readonly (Float64Array | LazyData)[],
    eta: number,
    build: (leaves: readonly (Float64Array | LazyData)[]) => Params,
  ): () => Params | null {
    const at = this.written
    const { out, homed } = this
    return () => {
      if (at !== this.written) return null
      const leaves: (Float64Array | LazyData)[] = []
      for (let j = 0; j < out.length; j++) {
        const kept = homed[j] ? this.drafts.keep(j, x[j], y[j], eta) : out[j].slice()
        if (kept === null) return null
        leaves.push(kept)
      }
      return build(leaves)
    }
  }
}
