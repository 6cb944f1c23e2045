// Parameter-tree walks the writers need, browser-safe (toRecords uses normOf).
import { isTensor } from '../tensor/tensor.js'
import { globalNorm, type Params } from '../tree/tree.js'
import { sumOfSquares } from '../tensor/kernels/sumOfSquaresKernel.js'

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
 * ‖p‖₂ over every leaf, as `globalNorm` defines it, each leaf's Σx² taken by `sumOfSquares`
 * (WebAssembly SIMD for long leaves); it defers to `globalNorm` where the plain sum over- or
 * underflows. Differs from `globalNorm` only by rounding: relative error ≤ n·ε for n values.
 */
export function normOf(p: Params): number {
  const known = typeof p === 'object' ? norms.get(p) : undefined
  if (known !== undefined) return known
  const s = sumOfSquaresOfLeaves(p)
  const norm = Number.isFinite(s) && s >= 1e-290 ? Math.sqrt(s) : globalNorm(p)
  if (typeof p === 'object') norms.set(p, norm)
  return norm
}

/**
 * Norms already taken, by gradient tree: a state's gradient is frozen, so `toTensorBoard` and
 * `toCsv` on the same run (the CLI's `--logdir` with `--csv`) read it once.
 */
const norms = new WeakMap<object, number>()

/** Σx² over the leaves of `p`, in `leavesOf`'s order (without building their paths). */
function sumOfSquaresOfLeaves(p: Params): number {
  if (typeof p === 'number') return p * p
  if (isTensor(p)) return sumOfSquares(p.data)
  let s = 0
  if (Array.isArray(p)) for (const q of p) s += sumOfSquaresOfLeaves(q)
  else
    for (const k of Object.keys(p).sort())
      s += sumOfSquaresOfLeaves((p as Record<string, Params>)[k])
  return s
}
