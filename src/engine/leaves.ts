import { ShapeError } from '../errors.js'
import { freezeTree } from '../state/freeze.js'
import { addScaledLeaf } from '../tensor/keptSums.js'
import { type LazyData, lazyDataOf, lazyTensor, lengthOf } from '../tensor/lazyData.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import { adopt } from '../tree/handOver.js'
import { type Params, zipTree } from '../tree/tree.js'

/**
 * A loop over whole leaves: reads `ins[k][i]`, writes `outs[j][i]` for EVERY i < `outs[0].length`
 * (the outputs are not zeroed). Keep the loop itself in a top-level function that only ever
 * sees Float64Arrays and numbers (`adamLeaf(m0, n0, g, m, n, o, b1, …)`) and call it from the
 * kernel: V8 then optimizes it once for every transform instance, every leaf and every step.
 * A loop written inside a closure created per step, or inlined into the polymorphic tree walk,
 * kept being deoptimized and ran in the interpreter (≈ 70 ns per element for Adam on W5).
 */
export type Kernel = (ins: readonly Float64Array[], outs: readonly Float64Array[]) => void

/**
 * Leaves of trees of one structure, in flattening order (records by sorted key, arrays by
 * index): `data[k][j]` is input k's j-th leaf (a number leaf as a Float64Array of length 1).
 * `build(outs)` makes a tree of the inputs' structure over new leaf arrays, deeply frozen,
 * tensors sharing the first input's (frozen) shape arrays.
 */
export interface LeafSet {
  readonly data: readonly (readonly Float64Array[])[]
  readonly count: number
  /** (a lazy source among `outs` gives a lazy tensor: src/tensor/lazyData.ts) */
  build(outs: readonly (Float64Array | LazyData)[]): Params
}

const sortedKeys = (o: object) => Object.keys(o).sort()

/**
 * The last shape array known to be frozen: parameters' shapes are the same frozen arrays step
 * after step, so an identity check usually answers instead of `Object.isFrozen` (a call into the
 * engine's C++ side, tens of ns). Sound because a frozen array never becomes unfrozen.
 */
let knownFrozenShape: readonly number[] | null = null

/** A frozen shape: the same array when it already is (states' shapes are), else a frozen copy. */
export function frozenShape(shape: readonly number[]): readonly number[] {
  if (shape === knownFrozenShape) return shape
  const out = Object.isFrozen(shape) ? shape : Object.freeze([...shape])
  knownFrozenShape = out
  return out
}

/** Equal dimensions (the same array answers at once). */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Collects the leaves of `qs` (trees of one structure) into `data`; false on a mismatch. The
 * lazy tensors of the inputs whose bits are set in `unread` give their sources, data not made.
 */
function collect(qs: readonly Params[], data: (Float64Array | LazyData)[][], unread = 0): boolean {
  const q = qs[0]
  const k = qs.length
  if (typeof q === 'number') {
    for (let i = 0; i < k; i++) {
      const x = qs[i]
      if (typeof x !== 'number') return false
      data[i].push(Float64Array.of(x))
    }
    return true
  }
  if (isTensor(q)) {
    const q0 = unread & 1 ? lazyDataOf(q) : undefined
    const len = q0 !== undefined ? q0.length : q.data.length
    for (let i = 0; i < k; i++) {
      const x = qs[i]
      const lz = (unread >> i) & 1 && isTensor(x) ? lazyDataOf(x) : undefined
      const n = lz !== undefined ? lz.length : isTensor(x) ? x.data.length : -1
      if (n !== len || !sameShape((x as Tensor).shape, q.shape)) return false
      data[i].push(lz ?? (x as Tensor).data)
    }
    return true
  }
  if (Array.isArray(q)) {
    for (let i = 1; i < k; i++) {
      const x = qs[i]
      if (!Array.isArray(x) || x.length !== q.length) return false
    }
    for (let j = 0; j < q.length; j++) {
      if (
        !collect(
          qs.map((x) => (x as readonly Params[])[j]),
          data,
          unread,
        )
      )
        return false
    }
    return true
  }
  const keys = sortedKeys(q)
  for (let i = 1; i < k; i++) {
    const x = qs[i]
    if (typeof x !== 'object' || x === null || isTensor(x) || Array.isArray(x)) return false
    const xk = Object.keys(x)
    if (xk.length !== keys.length) return false
    for (const key of keys) if (!Object.hasOwn(x, key)) return false
  }
  for (const key of keys) {
    if (
      !collect(
        qs.map((x) => (x as Record<string, Params>)[key]),
        data,
        unread,
      )
    )
      return false
  }
  return true
}

/** A frozen tensor of `shape` over `data` (lazy over a source). */
function tensorOver(shape: readonly number[], data: Float64Array | LazyData): Params {
  if (data instanceof Float64Array) return Object.freeze({ shape: frozenShape(shape), data })
  return Object.freeze(lazyTensor(frozenShape(shape), data))
}

/** A deeply frozen tree of `template`'s structure over `outs` (from leaf `at.k` on). */
function rebuild(
  template: Params,
  outs: readonly (Float64Array | LazyData)[],
  at: { k: number },
): Params {
  if (typeof template === 'number') {
    const o = outs[at.k++]
    return o instanceof Float64Array ? o[0] : o.value()[0]
  }
  if (isTensor(template)) return tensorOver(template.shape, outs[at.k++])
  if (Array.isArray(template)) {
    const out = new Array<Params>(template.length)
    for (let i = 0; i < template.length; i++) out[i] = rebuild(template[i], outs, at)
    return Object.freeze(out)
  }
  const out: Record<string, Params> = {}
  for (const key of sortedKeys(template)) {
    out[key] = rebuild((template as Record<string, Params>)[key], outs, at)
  }
  return Object.freeze(out)
}

/**
 * The leaves of `inputs` (trees of one structure), checked; see `LeafSet`.
 *
 * @example
 * ```ts
 * const { data: [m0, g], count, build } = leavesOf('scaleByMomentum', [velocity, u])
 * ```
 * @throws {ShapeError} `scaleByAdam: at W: shapes [2,3] and [3,2] differ` (zipTree's message)
 */
export function leavesOf(fn: string, inputs: readonly Params[]): LeafSet {
  return leafSet(fn, inputs, 0) as LeafSet
}

/**
 * `leavesOf`, the lazy tensors (src/tensor/lazyData.ts) of input `unread` (or of each input
 * listed) left unread: their sources stand in `data[unread]` where their arrays would (the other
 * inputs' leaves as `leavesOf`'s).
 */
export function leafSourcesOf(
  fn: string,
  inputs: readonly Params[],
  unread: number | readonly number[],
): Omit<LeafSet, 'data'> & { readonly data: readonly (readonly (Float64Array | LazyData)[])[] } {
  const mask = typeof unread === 'number' ? 1 << unread : unread.reduce((m, i) => m | (1 << i), 0)
  return leafSet(fn, inputs, mask)
}

function leafSet(fn: string, inputs: readonly Params[], unread: number) {
  const data: (Float64Array | LazyData)[][] = inputs.map(() => [])
  if (!collect(inputs, data, unread)) {
    for (let k = 1; k < inputs.length; k++) zipTree(inputs[0], inputs[k], () => 0, fn)
    throw new ShapeError(`${fn}: the trees' structures differ`)
  }
  const template = inputs[0]
  const count = data[0].length
  return {
    data,
    count,
    // a tree that is one tensor (a flat parameter vector) skips the walk
    build: isTensor(template)
      ? (outs: readonly (Float64Array | LazyData)[]) => tensorOver(template.shape, outs[0])
      : (outs: readonly (Float64Array | LazyData)[]) => rebuild(template, outs, { k: 0 }),
  }
}

/**
 * Applies `kernel` leaf by leaf to trees of one structure and returns `nOut` new trees of that
 * structure (deeply frozen; records by sorted key, as `mapTree`/`zipTree` build them). A number
 * leaf is seen as a Float64Array of length 1. Inputs are never written to; the kernel must
 * write every element of its outputs.
 *
 * @example
 * ```ts
 * const [mu] = leafwise('scaleByAdam', [s.mu, u], 1, ([m, g], [out]) => emaLeaf(m, g, out, b1))
 * ```
 * @throws {ShapeError} `scaleByAdam: at W: shapes [2,3] and [3,2] differ` (zipTree's message)
 */
export function leafwise(
  fn: string,
  inputs: readonly Params[],
  nOut: number,
  kernel: Kernel,
): Params[] {
  const leaves = leavesOf(fn, inputs)
  const { data, count } = leaves
  const nIn = data.length
  const outs: Float64Array[][] = []
  for (let j = 0; j < nOut; j++) outs.push(new Array<Float64Array>(count))
  const ins = new Array<Float64Array>(nIn)
  const o = new Array<Float64Array>(nOut)
  for (let leaf = 0; leaf < count; leaf++) {
    for (let k = 0; k < nIn; k++) ins[k] = data[k][leaf]
    const length = data[0][leaf].length
    for (let j = 0; j < nOut; j++) o[j] = outs[j][leaf] = uninitializedF64(length)
    kernel(ins, o)
  }
  const trees = new Array<Params>(nOut)
  for (let j = 0; j < nOut; j++) trees[j] = leaves.build(outs[j])
  return trees
}

/** A sum already made, or its maker (null: it cannot any more). */
type KnownSum = Params | (() => Params | null)

/** θ + 1·u already made, by its `u`: see `handOverSum`. */
const knownSums = new WeakMap<object, { readonly params: Params; readonly sum: KnownSum }>()

/**
 * Notes that `sum` is `addScaled(params, updates, 1)`, bit for bit (a line search's accepted
 * trial point: each element p + u rounded once; or `params` itself, for updates of −0), built
 * frozen over arrays its maker hands over (it keeps no reference and never writes them again),
 * or a function making that tree when asked (null once it cannot: then the update adds): the
 * update applying exactly these `updates` to exactly these `params` takes `sum` instead of
 * making it again. Once.
 */
export function handOverSum(params: Params, updates: Params, sum: KnownSum): void {
  if (typeof updates === 'object') knownSums.set(updates, { params, sum })
}

/**
 * θ + a·u over two trees, THE update of the parameters (every step ends here): the same values and structure as
 * `zipTree(p, u, (x, y) => x + a * y)`, without its per-node bookkeeping; a tree that does not
 * match falls back to `zipTree`, which throws its message naming the path. The result is deeply
 * frozen (built frozen, so callers need no `freezeTree` walk).
 */
export function addScaled<P extends Params>(p: P, u: Params, a: number, fn = 'applyUpdates'): P {
  if (a === 1 && typeof u === 'object') {
    const known = knownSums.get(u)
    if (known !== undefined && known.params === p) {
      knownSums.delete(u)
      const sum = typeof known.sum === 'function' ? known.sum() : known.sum
      if (sum !== null) return sum as P
    }
  }
  const out = addScaledOrNull(p, u, a)
  if (out !== null) return out as P
  return freezeTree(zipTree(p, u, (x, y) => x + a * y, fn))
}

function addScaledOrNull(p: Params, u: Params, a: number): Params | null {
  if (typeof p === 'number') return typeof u === 'number' ? p + a * u : null
  if (isTensor(p)) {
    if (!isTensor(u)) return null
    // a lazy gradient (the tape's ∂W1) is summed where its kernel left it, unread; a lazy θ
    // (the last step's sum, src/tensor/keptSums.ts) is summed over where it lies
    const lz = lazyDataOf(u)
    const pz = lazyDataOf(p)
    if ((lz?.length ?? u.data.length) !== (pz?.length ?? p.data.length)) return null
    // the gradient's tensors share the parameters' shape arrays: identity answers without a loop
    if (u.shape !== p.shape && !sameShape(p.shape, u.shape)) return null
    return tensorOver(p.shape, addScaledLeaf(pz ?? p.data, lz ?? u.data, a))
  }
  if (Array.isArray(p)) {
    if (!Array.isArray(u) || u.length !== p.length) return null
    const out = new Array<Params>(p.length)
    for (let i = 0; i < p.length; i++) {
      const v = addScaledOrNull(p[i], u[i], a)
      if (v === null) return null
      out[i] = v
    }
    return Object.freeze(out)
  }
  if (typeof u !== 'object' || u === null || Array.isArray(u) || isTensor(u)) return null
  const keys = Object.keys(p).sort()
  if (Object.keys(u).length !== keys.length) return null
  const out: { [k: string]: Params } = {}
  for (const k of keys) {
    const w = (u as { [k: string]: Params })[k]
    if (w === undefined) return null
    const v = addScaledOrNull((p as { [k: string]: Params })[k], w, a)
    if (v === null) return null
    out[k] = v
  }
  return Object.freeze(out)
}

/**
 * A tree of `template`'s structure over the flat values (flattening order: records by sorted
 * key, arrays by index, tensors row-major): tensors are views into `flat` sharing the
 * template's frozen shapes. What `unflatten(template, flat, true)` gives, with less copying.
 */
export function treeFromFlat<P extends Params>(template: P, flat: Float64Array): P {
  // hot path: a tree that is one tensor (the 2-D problem, most small models) takes flat itself,
  // without the walk's closure
  if (isTensor(template) && template.data.length === flat.length) {
    const t = Object.freeze({ shape: frozenShape(template.shape), data: flat }) as Params as P
    lastBuiltTree = t
    return t
  }
  lastBuiltTree = null
  let k = 0
  const go = (q: Params): Params => {
    if (typeof q === 'number') return flat[k++]
    if (isTensor(q)) {
      const n = q.data.length
      // a view costs an allocation of its own: a tensor that is the whole tree takes flat itself
      const data = k === 0 && n === flat.length ? flat : flat.subarray(k, k + n)
      k += n
      return Object.freeze({ shape: frozenShape(q.shape), data })
    }
    if (Array.isArray(q)) return Object.freeze(q.map(go))
    const out: { [key: string]: Params } = {}
    for (const key of Object.keys(q).sort()) out[key] = go((q as { [key: string]: Params })[key])
    return Object.freeze(out)
  }
  const out = go(template) as P
  lastBuiltTree = out
  return out
}

/** The last tree `treeFromFlat` built: deeply frozen by construction (see `frozenTree`). */
let lastBuiltTree: Params | null = null

/**
 * `freezeTree(p)`, answered by an identity check when `p` is the tree `treeFromFlat` built last
 * (the gradient `gradient()` just made, arriving at the update): `freezeTree` would call
 * `Object.isFrozen`, an engine call costing about as much as building a small object. Any
 * other tree gets the full `freezeTree`.
 */
export function frozenTree<P extends Params>(p: P): P {
  return p === lastBuiltTree ? p : freezeTree(p)
}

/**
 * A copy of `g` (fresh buffers, `template`'s frozen shapes; a tensor marked by `handOver`
 * keeps its buffer, once) if it has `template`'s structure,
 * else `zipTree`'s ShapeError naming the path: how `gradient(fn)` takes a user's gradient.
 */
export function copyLike<P extends Params>(template: P, g: Params, fn: string): P {
  const out = copyOrNull(template, g)
  if (out !== null) return out as P
  return zipTree(template, g, (_, y) => y, fn)
}

function copyOrNull(p: Params, g: Params): Params | null {
  if (typeof p === 'number') return typeof g === 'number' ? g : null
  if (isTensor(p)) {
    if (!isTensor(g)) return null
    const lz = lazyDataOf(g)
    if ((lz?.length ?? g.data.length) !== lengthOf(p) || !sameShape(p.shape, g.shape)) return null
    const shape = Object.isFrozen(p.shape) ? p.shape : [...p.shape]
    // a buffer its producer handed over (src/tree/handOver.ts) is kept, not copied: nobody else
    // holds it (a lazy one stays lazy). Anything else (a user's buffer, which it may reuse) is copied.
    if (adopt(g)) return lz !== undefined ? lazyTensor(shape, lz) : { shape, data: g.data }
    return { shape, data: g.data.slice() }
  }
  if (Array.isArray(p)) {
    if (!Array.isArray(g) || g.length !== p.length) return null
    const out = new Array<Params>(p.length)
    for (let i = 0; i < p.length; i++) {
      const v = copyOrNull(p[i], g[i])
      if (v === null) return null
      out[i] = v
    }
    return out
  }
  if (typeof g !== 'object' || g === null || Array.isArray(g) || isTensor(g)) return null
  const keys = Object.keys(p).sort()
  if (Object.keys(g).length !== keys.length) return null
  const out: { [k: string]: Params } = {}
  for (const k of keys) {
    const w = (g as { [k: string]: Params })[k]
    if (w === undefined) return null
    const v = copyOrNull((p as { [k: string]: Params })[k], w)
    if (v === null) return null
    out[k] = v
  }
  return out
}
