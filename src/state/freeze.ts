import { isTensor } from '../tensor/tensor.js'
import type { Params } from '../tree/tree.js'

/**
 * Deeply freezes a parameter tree in place and returns it: records, arrays, tensor objects and
 * their `shape`s. A tensor's `data` (a Float64Array) cannot be frozen; gradstream never writes
 * into one it was given. Cost is one `Object.freeze` per node, not per scalar.
 *
 * @example
 * ```ts
 * import { freezeTree, tensor } from 'gradstream'
 *
 * const p = freezeTree({ W: tensor([1, 2]), b: 0 })
 * console.log(Object.isFrozen(p), Object.isFrozen(p.W), Object.isFrozen(p.W.data))
 * // → true true false
 * // a typed array cannot be frozen: gradstream never writes into one it was given
 * ```
 */
export function freezeTree<P extends Params>(p: P): P {
  if (typeof p !== 'object' || p === null || Object.isFrozen(p)) return p
  // a typed array with elements cannot be frozen (the engine refuses): left as it is
  if (ArrayBuffer.isView(p)) return p
  // a node is frozen before its children, so a cycle ends where it meets a frozen node
  Object.freeze(p)
  if (isTensor(p)) {
    if (!Object.isFrozen(p.shape)) Object.freeze(p.shape)
    return p
  }
  if (Array.isArray(p)) {
    for (let i = 0; i < p.length; i++) freezeTree(p[i] as Params)
    return p
  }
  for (const k in p) freezeTree((p as Record<string, Params>)[k])
  return p
}
