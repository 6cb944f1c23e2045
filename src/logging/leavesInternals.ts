// Parameter-tree walks the writers need, browser-safe (toRecords uses normOf).
import { isTensor } from '../tensor/tensor.js'
import { globalNorm, type Params } from '../tree/tree.js'

/**
 * The leaves of a parameter tree (numbers and whole tensors) with their paths joined by `/`,
 * as TensorBoard groups tags: `{ W1, b1 }` gives `W1`, `b1`; `[{ W }]` gives `0/W`.
 */
export function leavesOf(p: Params, path = ''): [string, ArrayLike<number>][] {
  const at = (key: string) => (path ? `${path}/${key}` : key)
  if (typeof p === 'number') return [[path || 'value', [p]]]
  if (isTensor(p)) return [[path || 'value', p.data]]
  if (Array.isArray(p)) return p.flatMap((q, i) => leavesOf(q, at(String(i))))
  // sorted, as the tree functions order a record's keys
  return Object.keys(p)
    .sort()
    .flatMap((k) => leavesOf((p as Record<string, Params>)[k], at(k)))
}

/**
 * ‖p‖₂ over every leaf: `globalNorm`'s value (the same sum in the same order) without building
 * a path per element; it defers to `globalNorm` where the plain sum over- or underflows.
 */
export function normOf(p: Params): number {
  let s = 0
  for (const [, d] of leavesOf(p)) for (let i = 0; i < d.length; i++) s += d[i] * d[i]
  return Number.isFinite(s) && s >= 1e-290 ? Math.sqrt(s) : globalNorm(p)
}
