import { expectFunction, ShapeError, show, showShape } from '../errors.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'

/**
 * A parameter tree: a number, a tensor, or arrays / records of parameter trees. Optimizers,
 * gradients and numerical differentiation all work leaf by leaf over this structure, and a
 * gradient always has exactly its parameters' structure.
 */
export type Params = number | Tensor | readonly Params[] | { readonly [name: string]: Params }

/** One scalar leaf position, as `visit` reports it: `W1`, `layers[0].b`. */
export type TreePath = string

const joinKey = (path: TreePath, key: string): TreePath => (path ? `${path}.${key}` : key)
const joinIndex = (path: TreePath, i: number): TreePath => `${path}[${i}]`

function kindOf(p: unknown): 'number' | 'tensor' | 'array' | 'record' | 'other' {
  if (typeof p === 'number') return 'number'
  if (isTensor(p)) return 'tensor'
  if (Array.isArray(p)) return 'array'
  if (typeof p === 'object' && p !== null) {
    // only plain objects are records: a typed array, Map or Date is not a parameter tree
    const proto = Object.getPrototypeOf(p)
    if (proto === Object.prototype || proto === null) return 'record'
  }
  return 'other'
}

const withArticle = (kind: string): string => (kind === 'array' ? 'an array' : `a ${kind}`)

const ownKeys = (o: object): string[] => Object.keys(o).sort()

/**
 * The keys of a record met by a walker, or a TypeError naming `fn` when the value is not a
 * parameter tree at all (undefined, a string, a Map …); checked where a walker would otherwise
 * fail inside `Object.keys`, so a valid tree pays nothing more.
 */
function recordKeys(fn: string, q: unknown): string[] {
  if (kindOf(q) !== 'record') {
    throw new TypeError(
      `${fn}: p: expected a number, a tensor, an array or a record, got ${show(q)}`,
    )
  }
  return ownKeys(q as object)
}

/**
 * `walk()`, with a stack overflow (a cyclic tree, or one nested absurdly deep) reported as a
 * RangeError naming `fn`'s argument instead of the engine's "Maximum call stack size exceeded".
 */
function guarded<T>(fn: string, walk: () => T): T {
  try {
    return walk()
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new RangeError(`${fn}: p: expected a tree, got one nested too deep to walk (cyclic?)`)
    }
    throw e
  }
}

/**
 * Checks that `p` is a parameter tree, naming the first path that is not.
 *
 * @example
 * ```ts
 * import { assertParams, tensor } from 'gradstream'
 *
 * assertParams('train', 'params', { W: tensor([[1]]), b: 0 }) // ok: returns, and narrows to Params
 * try {
 *   assertParams('train', 'params', { W: 'x' })
 * } catch (e) {
 *   console.log(String(e))
 *   // → TypeError: train: params.W: expected a number, a tensor, an array or a record, got "x"
 * }
 * ```
 */
export function assertParams(fn: string, field: string, p: unknown): asserts p is Params {
  if (typeof fn !== 'string' || fn === '') fn = 'assertParams'
  // fn and field name the caller's function and argument in the messages (strings, else ours)
  guarded(fn, () => checkParams(fn, p, typeof field === 'string' && field !== '' ? field : 'p'))
}

/** {@link assertParams}' walk: a module function, not a closure of each call (tsx names those). */
function checkParams(fn: string, q: unknown, path: string): void {
  switch (kindOf(q)) {
    case 'number':
    case 'tensor':
      return
    case 'array':
      for (let i = 0; i < (q as unknown[]).length; i++)
        checkParams(fn, (q as unknown[])[i], joinIndex(path, i)) // holes too
      return
    case 'record':
      for (const k of ownKeys(q as object))
        checkParams(fn, (q as Record<string, unknown>)[k], joinKey(path, k))
      return
    default:
      throw new TypeError(
        `${fn}: ${path}: expected a number, a tensor, an array or a record, got ${show(q)}`,
      )
  }
}

/**
 * Applies `f` to every scalar of the tree, keeping its structure.
 *
 * @example
 * ```ts
 * import { mapTree, tensor } from 'gradstream'
 *
 * const p = mapTree({ w: tensor([1, 2]), b: 3 }, (v) => 2 * v)
 * console.log(p.w.data, p.b) // → Float64Array(2) [ 2, 4 ] 6
 * ```
 */
export function mapTree<P extends Params>(p: P, f: (v: number) => number): P {
  expectFunction('mapTree', 'f', f)
  return mapLeaves('mapTree', p, f, (q) => {
    const out = new Float64Array(q.data.length)
    for (let i = 0; i < out.length; i++) out[i] = f(q.data[i])
    return out
  })
}

/** `p`'s structure, each number `v` replaced by `num(v)` and each tensor's data by `data(t)`. */
function mapLeaves<P extends Params>(
  fn: string,
  p: P,
  num: (v: number) => number,
  data: (t: Tensor) => Float64Array,
): P {
  const go = (q: Params): Params => {
    if (typeof q === 'number') return num(q)
    if (isTensor(q)) return { shape: [...q.shape], data: data(q) }
    if (Array.isArray(q)) return q.map(go)
    const o: Record<string, Params> = {}
    for (const k of recordKeys(fn, q)) o[k] = go((q as Record<string, Params>)[k])
    return o
  }
  return guarded(fn, () => go(p)) as P
}

/**
 * Combines two trees of the same structure scalar by scalar.
 *
 * @example
 * ```ts
 * import { zipTree } from 'gradstream'
 *
 * console.log(zipTree({ w: 1, b: 2 }, { w: 10, b: 20 }, (a, b) => a + b)) // → { b: 22, w: 11 }
 * // (keys in sorted order, as every tree function walks them)
 * ```
 * @throws {ShapeError} `zipTree: at W: shapes [2,3] and [3,2] differ`
 */
export function zipTree<P extends Params>(
  a: P,
  b: Params,
  f: (x: number, y: number) => number,
  fn = 'zipTree',
): P {
  if (typeof fn !== 'string' || fn === '') fn = 'zipTree'
  expectFunction(fn, 'f', f)
  const go = (x: Params, y: Params, path: string): Params => {
    const kx = kindOf(x)
    const ky = kindOf(y)
    if (kx !== ky) {
      throw new ShapeError(
        `${fn}: at ${path || '(root)'}: ${withArticle(kx)} and ${withArticle(ky)} differ`,
      )
    }
    if (kx === 'other') {
      throw new TypeError(
        `${fn}: at ${path || '(root)'}: expected a number, a tensor, an array or a record, got ${show(x)}`,
      )
    }
    if (kx === 'number') return f(x as number, y as number)
    if (kx === 'tensor') {
      const tx = x as Tensor
      const ty = y as Tensor
      if (
        tx.data.length !== ty.data.length ||
        tx.shape.some((d, i) => d !== ty.shape[i]) ||
        tx.shape.length !== ty.shape.length
      ) {
        throw new ShapeError(
          `${fn}: at ${path || '(root)'}: shapes ${showShape(tx.shape)} and ${showShape(ty.shape)} differ`,
        )
      }
      const out = new Float64Array(tx.data.length)
      for (let i = 0; i < out.length; i++) out[i] = f(tx.data[i], ty.data[i])
      return { shape: [...tx.shape], data: out }
    }
    if (kx === 'array') {
      const ax = x as readonly Params[]
      const ay = y as readonly Params[]
      if (ax.length !== ay.length) {
        throw new ShapeError(
          `${fn}: at ${path || '(root)'}: lengths ${ax.length} and ${ay.length} differ`,
        )
      }
      return ax.map((v, i) => go(v, ay[i], joinIndex(path, i)))
    }
    const rx = x as Record<string, Params>
    const ry = y as Record<string, Params>
    const keys = ownKeys(rx)
    const ykeys = ownKeys(ry)
    if (keys.join('\u0000') !== ykeys.join('\u0000')) {
      throw new ShapeError(
        `${fn}: at ${path || '(root)'}: keys ${show(keys)} and ${show(ykeys)} differ`,
      )
    }
    const o: Record<string, Params> = {}
    for (const k of keys) o[k] = go(rx[k], ry[k], joinKey(path, k))
    return o
  }
  return guarded(fn, () => go(a, b, '')) as P
}

/**
 * Visits every scalar in flattening order with its path and flat index.
 *
 * @example
 * ```ts
 * import { tensor, visit } from 'gradstream'
 *
 * visit({ W: tensor([[1, 2]]), b: 3 }, (v, path) => console.log(path, v))
 * // → W[0,0] 1, W[0,1] 2, b 3
 * ```
 */
export function visit(p: Params, f: (value: number, path: TreePath, index: number) => void): void {
  expectFunction('visit', 'f', f)
  let k = 0
  const go = (q: Params, path: string): void => {
    if (typeof q === 'number') f(q, path || '(root)', k++)
    else if (isTensor(q)) {
      const { shape, data } = q
      if (shape.length === 0) f(data[0], path || '(root)', k++)
      else
        for (let i = 0; i < data.length; i++)
          f(data[i], `${path}[${unravel(i, shape).join(',')}]`, k++)
    } else if (Array.isArray(q)) q.forEach((v, i) => go(v, joinIndex(path, i)))
    else
      for (const key of recordKeys('visit', q))
        go((q as Record<string, Params>)[key], joinKey(path, key))
  }
  guarded('visit', () => go(p, ''))
}

/**
 * The multi-index of flat position `i` in `shape`.
 *
 * @example
 * ```ts
 * import { unravel } from 'gradstream'
 *
 * console.log(unravel(4, [2, 3])) // → [ 1, 1 ]
 * // row-major: flat position 4 of a 2×3 tensor is row 1, column 1
 * ```
 */
export function unravel(i: number, shape: readonly number[]): number[] {
  if (!Number.isInteger(i) || i < 0) {
    throw new RangeError(`unravel: i: expected a non-negative integer, got ${show(i)}`)
  }
  if (!Array.isArray(shape)) {
    throw new TypeError(`unravel: shape: expected an array of numbers, got ${show(shape)}`)
  }
  const idx = new Array<number>(shape.length)
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`unravel: shape[${d}]: expected a positive integer, got ${show(n)}`)
    }
    idx[d] = i % n
    i = Math.floor(i / n)
  }
  return idx
}

/**
 * The path of the scalar at flat position `index` (for error messages).
 *
 * @example
 * ```ts
 * import { pathAt, zeros } from 'gradstream'
 *
 * console.log(pathAt({ W: zeros([2, 3]), b: zeros([3]) }, 4)) // → W[1,1]
 * ```
 */
export function pathAt(p: Params, index: number): TreePath {
  let found = ''
  visit(p, (_, path, k) => {
    if (k === index) found = path
  })
  return found
}

/**
 * The number of scalars in the tree.
 *
 * @example
 * ```ts
 * import { treeSize, zeros } from 'gradstream'
 *
 * console.log(treeSize({ W: zeros([2, 3]), b: 0 })) // → 7
 * ```
 */
export function treeSize(p: Params): number {
  // a tensor or a number (every step of a one-tensor model asks): no walk, no guard closure
  if (isTensor(p)) return p.data.length
  if (typeof p === 'number') return 1
  return guarded('treeSize', () => countScalars(p))
}

function countScalars(p: Params): number {
  if (typeof p === 'number') return 1
  if (isTensor(p)) return p.data.length
  if (Array.isArray(p)) return p.reduce((s: number, q: Params) => s + countScalars(q), 0)
  let s = 0
  for (const k of recordKeys('treeSize', p)) s += countScalars((p as Record<string, Params>)[k])
  return s
}

/**
 * All scalars of the tree in one Float64Array: records by sorted key, arrays by index, tensors
 * row-major.
 *
 * @example
 * ```ts
 * import { flatten, tensor } from 'gradstream'
 *
 * console.log(flatten({ b: 3, W: tensor([1, 2]) })) // → Float64Array(3) [ 1, 2, 3 ]
 * // keys in sorted order: W before b
 * ```
 */
export function flatten(p: Params, out = new Float64Array(treeSize(p))): Float64Array {
  let k = 0
  const go = (q: Params): void => {
    if (typeof q === 'number') out[k++] = q
    else if (isTensor(q)) {
      out.set(q.data, k)
      k += q.data.length
    } else if (Array.isArray(q)) q.forEach(go)
    else for (const key of recordKeys('flatten', q)) go((q as Record<string, Params>)[key])
  }
  if (!(out instanceof Float64Array)) {
    throw new TypeError(`flatten: out: expected a Float64Array, got ${show(out)}`)
  }
  try {
    guarded('flatten', () => go(p))
  } catch (e) {
    if (e instanceof RangeError && /bounds/.test(e.message)) {
      throw new RangeError(
        `flatten: out: expected room for ${treeSize(p)} numbers, got ${out.length}`,
      )
    }
    throw e
  }
  return out
}

/**
 * The inverse of `flatten`: a tree of `template`'s structure holding `flat`'s values. With
 * `share`, tensors are views into `flat` (no copy); otherwise each gets its own buffer.
 *
 * @example
 * ```ts
 * import { unflatten, zeros } from 'gradstream'
 *
 * const p = unflatten({ W: zeros([2]), b: 0 }, Float64Array.of(1, 2, 3))
 * console.log(p.W.data, p.b) // → Float64Array(2) [ 1, 2 ] 3
 * ```
 * @throws {ShapeError} `unflatten: template holds 3 values, got 2`
 */
export function unflatten<P extends Params>(template: P, flat: Float64Array, share = false): P {
  if (!(flat instanceof Float64Array)) {
    throw new TypeError(`unflatten: flat: expected a Float64Array, got ${show(flat)}`)
  }
  const n = treeSize(template)
  if (flat.length !== n) {
    throw new ShapeError(`unflatten: template holds ${n} values, got ${flat.length}`)
  }
  let k = 0
  const go = (q: Params): Params => {
    if (typeof q === 'number') return flat[k++]
    if (isTensor(q)) {
      const len = q.data.length
      const data = share ? flat.subarray(k, k + len) : flat.slice(k, k + len)
      k += len
      return { shape: [...q.shape], data }
    }
    if (Array.isArray(q)) return q.map(go)
    const o: Record<string, Params> = {}
    for (const key of recordKeys('unflatten', q)) o[key] = go((q as Record<string, Params>)[key])
    return o
  }
  return guarded('unflatten', () => go(template)) as P
}

/**
 * A tree of `p`'s structure filled with zeros.
 *
 * @example
 * ```ts
 * import { tensor, zerosLikeTree } from 'gradstream'
 *
 * const z = zerosLikeTree({ W: tensor([1, 2]), b: 5 })
 * console.log(z.W.data, z.b) // → Float64Array(2) [ 0, 0 ] 0
 * ```
 */
export function zerosLikeTree<P extends Params>(p: P): P {
  // a fresh Float64Array holds zeros already: no pass over it (an optimizer's moments at its
  // first step are two such trees, the size of the parameters)
  return mapLeaves(
    'zerosLikeTree',
    p,
    () => 0,
    (t) => new Float64Array(t.data.length),
  )
}

/**
 * The Euclidean norm of all scalars of the tree together, √Σv² — summed plainly in flattening
 * order (as optax's `global_norm`, so results match it bit for bit), with a rescaled second
 * pass only when the plain sum overflows or underflows.
 *
 * @example
 * ```ts
 * import { globalNorm, tensor } from 'gradstream'
 *
 * console.log(globalNorm({ a: 3, b: tensor([4]) })) // → 5
 * ```
 */
export function globalNorm(p: Params): number {
  // one walk for Σv² and max|v| in flattening order (`visit`'s, without its per-value paths)
  let s = 0
  let big = 0
  // an arrow passed, not one bound to a name (tsx names those as each call makes them)
  guarded('globalNorm', () =>
    eachLeaf(p, (d) => {
      let acc = s
      let m = big
      for (let i = 0; i < d.length; i++) {
        const v = d[i]
        acc += v * v
        const a = Math.abs(v)
        if (!(a <= m)) m = a // NaN sticks
      }
      s = acc
      big = m
    }),
  )
  if (Number.isNaN(big) || big === Infinity) return big
  if (big === 0 || (Number.isFinite(s) && s >= 1e-290)) return Math.sqrt(s)
  let t = 0
  eachLeaf(p, (d) => {
    for (let i = 0; i < d.length; i++) {
      const r = d[i] / big
      t += r * r
    }
  })
  return big * Math.sqrt(t)
}

/** The leaves' values in flattening order, a tensor's `data` whole, a number as `[v]`. */
function eachLeaf(p: Params, f: (values: ArrayLike<number>) => void): void {
  if (typeof p === 'number') f([p])
  else if (isTensor(p)) f(p.data)
  else if (Array.isArray(p)) for (const q of p) eachLeaf(q, f)
  else
    for (const key of recordKeys('globalNorm', p)) eachLeaf((p as Record<string, Params>)[key], f)
}
