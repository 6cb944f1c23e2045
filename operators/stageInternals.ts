import { isTensor } from '../src/tensor/tensor.js'
import { frozenShape, sameShape } from '../src/engine/leaves.js'
import { freezeTree } from '../src/state/freeze.js'
import { adopt } from '../src/tree/handOver.js'
import { zipTree, type Params } from '../src/tree/tree.js'

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
    if (!isTensor(g) || g.data.length !== p.data.length || !sameShape(p.shape, g.shape)) return null
    // a buffer its producer handed over (src/tree/handOver.ts) is kept, not copied: nobody else
    // holds it. Anything else (a user's buffer, which it may reuse) is copied.
    const data = adopt(g) ? g.data : g.data.slice()
    return { shape: Object.isFrozen(p.shape) ? p.shape : [...p.shape], data }
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
