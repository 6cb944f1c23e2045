import type * as t from 'io-ts'
import { show } from '../../src/errors.js'
import type { MaskC, MaskTree as TreeOfBooleans } from '../../src/state/configCodecs.js'
import { isTensor, type Tensor } from '../../src/tensor/tensor.js'
import type { Params } from '../../src/tree/tree.js'

/** A leaf of a parameter tree: a number or a whole tensor. */
export type Leaf = number | Tensor

/** A tree of booleans shaped like (a prefix of) the parameters: `{ W1: true, b1: false }`. */
export type MaskTree = TreeOfBooleans

/**
 * Which leaves a transform applies to: a predicate on each leaf's path (`W1`, `layers[0].b`;
 * `(root)` for a lone leaf), or a tree of booleans where a boolean covers its whole subtree.
 * Its codec is `MaskC` (src/state/configCodecs.ts).
 */
export type Mask = t.TypeOf<typeof MaskC>

const joinKey = (path: string, key: string) => (path ? `${path}.${key}` : key)
const ownKeys = (o: object) => Object.keys(o).sort()

/**
 * The leaves `mask` selects, as a flat record keyed by path (itself a parameter tree, so any
 * transform can work on it and its slot stays readable: `mu['W1']`).
 *
 * @throws {TypeError} `masked: mask.b1: expected a boolean or a subtree of booleans, got undefined`
 */
export function selectLeaves(fn: string, p: Params, mask: Mask): Record<string, Leaf> {
  const out: Record<string, Leaf> = {}
  const go = (q: Params, m: MaskTree | undefined, path: string): void => {
    if (typeof q === 'number' || isTensor(q)) {
      const keep = typeof mask === 'function' ? mask(path || '(root)', q) : m
      if (typeof keep !== 'boolean') {
        throw new TypeError(
          `${fn}: ${typeof mask === 'function' ? `mask(${show(path || '(root)')})` : `mask${path && !path.startsWith('[') ? '.' : ''}${path}`}: expected a boolean, got ${show(keep)}`,
        )
      }
      if (keep) out[path || '(root)'] = q
      return
    }
    if (typeof m === 'boolean' || typeof mask === 'function') {
      if (Array.isArray(q)) q.forEach((x, i) => go(x, m, `${path}[${i}]`))
      else for (const k of ownKeys(q)) go((q as Record<string, Params>)[k], m, joinKey(path, k))
      return
    }
    const sub = (key: string | number, at: string): MaskTree | undefined => {
      const v = (m as Record<string, MaskTree> | undefined)?.[key]
      if (v === undefined) {
        throw new TypeError(
          `${fn}: mask${at.startsWith('[') ? '' : '.'}${at}: expected a boolean or a subtree of booleans, got undefined`,
        )
      }
      return v
    }
    if (Array.isArray(q)) q.forEach((x, i) => go(x, sub(i, `${path}[${i}]`), `${path}[${i}]`))
    else
      for (const k of ownKeys(q)) {
        const at = joinKey(path, k)
        go((q as Record<string, Params>)[k], sub(k, at), at)
      }
  }
  go(p, typeof mask === 'function' ? undefined : mask, '')
  return out
}

/** `p` with the leaves named in `replaced` (a record from `selectLeaves`) swapped in. */
export function replaceLeaves<P extends Params>(p: P, replaced: Record<string, Params>): P {
  const go = (q: Params, path: string): Params => {
    if (typeof q === 'number' || isTensor(q)) {
      const r = replaced[path || '(root)']
      return r === undefined ? q : r
    }
    if (Array.isArray(q)) return q.map((x, i) => go(x, `${path}[${i}]`))
    const o: Record<string, Params> = {}
    for (const k of ownKeys(q)) o[k] = go((q as Record<string, Params>)[k], joinKey(path, k))
    return o
  }
  return go(p, '') as P
}

/** The paths of the leaves `mask` selects in `params`, in flattening order. */
export function maskedPaths(fn: string, params: Params, mask: Mask): ReadonlySet<string> {
  return new Set(Object.keys(selectLeaves(fn, params, mask)))
}

/** The leaves of `p` at `paths`, as a flat record keyed by path. */
export function pickLeaves(p: Params, paths: ReadonlySet<string>): Record<string, Leaf> {
  return selectLeaves('pickLeaves', p, (path) => paths.has(path))
}
