// Parameter-tree walks the writers need, browser-safe (toRecords uses normOf).
import { isTensor } from '../tensor/tensor.js'
import { globalNorm, type Params } from '../tree/tree.js'

/**
 * The leaves of a parameter tree (numbers and whole tensors) with their paths joined by `/`,
 * as TensorBoard groups tags: `{ W1, b1 }` gives `W1`, `b1`; `[{ W }]` gives `0/W`.
 */
export function leavesOf(p: Params, path = ''): [string, Float64Array][] {
  const at = (key: string) => (path ? `${path}/${key}` : key)
  if (typeof p === 'number') return [[path || 'value', Float64Array.of(p)]]
  if (isTensor(p)) return [[path || 'value', p.data]]
  if (Array.isArray(p)) return p.flatMap((q, i) => leavesOf(q, at(String(i))))
  // sorted, as the tree functions order a record's keys
  return Object.keys(p)
    .sort()
    .flatMap((k) => leavesOf((p as Record<string, Params>)[k], at(k)))
}

/**
 * ‖p‖₂ over every leaf, as `globalNorm` defines it, summed in four interleaved partial sums (a
 * step's gradient has ~40,000 values; one running sum waits on each addition); it defers to
 * `globalNorm` where the plain sum over- or underflows. Differs from `globalNorm` only by
 * rounding: relative error ≤ n·ε/2 for n values.
 */
export function normOf(p: Params): number {
  let s = 0
  for (const [, d] of leavesOf(p)) s += sumOfSquares(d)
  return Number.isFinite(s) && s >= 1e-290 ? Math.sqrt(s) : globalNorm(p)
}

function sumOfSquares(d: Float64Array): number {
  let a = 0
  let b = 0
  let c = 0
  let e = 0
  const n4 = d.length - (d.length % 4)
  for (let i = 0; i < n4; i += 4) {
    a += d[i] * d[i]
    b += d[i + 1] * d[i + 1]
    c += d[i + 2] * d[i + 2]
    e += d[i + 3] * d[i + 3]
  }
  for (let i = n4; i < d.length; i++) a += d[i] * d[i]
  return a + b + (c + e)
}
