// Scaled updates made on first read. A scaling (u ↦ c·u) that runs alone, not inside an
// optimizer's pass (`scaleByLearningRate(1)` before a line search), gives tensors whose numbers
// c·u are made when first read, remembering c and u: a consumer that knows how they are made
// (the line search's slope ⟨c·u, g⟩ and trial points θ + η·(c·u)) computes from u itself, and
// the c·u array is made only if someone reads it. The same numbers either way: each element
// rounded as the eager loop rounds it, factor after factor. u is a state's array (never written),
// or a lazy source (the tape's ∂W) left unread: its numbers are copied where they lie, so the
// tape keeps its next gradients lazy too.

import { type LazyData, lazyDataOf, lazyTensor, numbersOf } from '../tensor/lazyData.js'
import { isTensor } from '../tensor/tensor.js'
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

/**
 * The line search's u (as c·s) and g, lazy sources left unread (the tape's ∂W: a read turns its
 * next gradients eager): a lazy g copied into `scratch[j]` (the caller's, one per run, made to
 * fit here; library-owned, never handed out), u = c·g taken from that copy.
 */
export function directionAndGradient(
  us: readonly (Float64Array | LazyData)[],
  gs: readonly (Float64Array | LazyData)[],
  scratch: Float64Array[],
): { readonly u: readonly ScaledLeaf[]; readonly g: readonly Float64Array[] } {
  const g = gs.map((x, j) => {
    if (x instanceof Float64Array) return x
    if (scratch[j]?.length !== x.length) scratch[j] = uninitializedF64(x.length) // written next
    return numbersOf(x, scratch[j])
  })
  const u = us.map((x, j) => scaledLeafOver(x, (src) => (src === gs[j] ? g[j] : src.value())))
  return { u, g }
}

/**
 * The line search's first trial and its slope, in one pass: out = θ + a·u and
 * acc + Σ uᵢ·gᵢ (in index order, leaf after leaf: the bits of the plain sum), u = c·s.
 */
export function slopeAndTrial(
  theta: readonly Float64Array[],
  u: readonly ScaledLeaf[],
  g: readonly Float64Array[],
  a: number,
  out: readonly Float64Array[],
): number {
  let acc = 0
  for (let j = 0; j < out.length; j++)
    acc = slopeTrialLeaf(theta[j], u[j].s, u[j].c, g[j], a, out[j], acc)
  return acc
}

function slopeTrialLeaf(
  p: Float64Array,
  s: Float64Array,
  c: number,
  g: Float64Array,
  a: number,
  o: Float64Array,
  acc: number,
): number {
  for (let i = 0; i < o.length; i++) {
    const u = c * s[i]
    acc += u * g[i]
    o[i] = p[i] + a * u
  }
  return acc
}

/** A later trial: out = θ + a·u, u = c·s. */
export function trialPoint(
  theta: readonly Float64Array[],
  u: readonly ScaledLeaf[],
  a: number,
  out: readonly Float64Array[],
): void {
  for (let j = 0; j < out.length; j++) trialLeaf(theta[j], u[j].s, u[j].c, a, out[j])
}

function trialLeaf(p: Float64Array, s: Float64Array, c: number, a: number, o: Float64Array): void {
  for (let i = 0; i < o.length; i++) o[i] = p[i] + a * (c * s[i])
}
