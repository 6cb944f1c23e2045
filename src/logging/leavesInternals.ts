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
 * ‖p‖₂ over every leaf (a ~40,000-value gradient takes ~20 µs: most of a writer's cost per step),
 * as `globalNorm` defines it, summed in eight interleaved partial sums (a
 * step's gradient has ~40,000 values; one running sum waits on each addition); it defers to
 * `globalNorm` where the plain sum over- or underflows. Differs from `globalNorm` only by
 * rounding: relative error ≤ n·ε/2 for n values.
 */
export function normOf(p: Params): number {
  const known = typeof p === 'object' ? norms.get(p) : undefined
  if (known !== undefined) return known
  let s = 0
  for (const [, d] of leavesOf(p)) s += sumOfSquares(d)
  const norm = Number.isFinite(s) && s >= 1e-290 ? Math.sqrt(s) : globalNorm(p)
  if (typeof p === 'object') norms.set(p, norm)
  return norm
}

/**
 * Norms already taken, by gradient tree: a state's gradient is frozen, so `toTensorBoard` and
 * `toCsv` on the same run (the CLI's `--logdir` with `--csv`) read it once.
 */
const norms = new WeakMap<object, number>()

function sumOfSquares(d: Float64Array): number {
  let a = 0
  let b = 0
  let c = 0
  let e = 0
  let f = 0
  let g = 0
  let h = 0
  let k = 0
  const n8 = d.length - (d.length % 8)
  for (let i = 0; i < n8; i += 8) {
    const x0 = d[i]
    const x1 = d[i + 1]
    const x2 = d[i + 2]
    const x3 = d[i + 3]
    const x4 = d[i + 4]
    const x5 = d[i + 5]
    const x6 = d[i + 6]
    const x7 = d[i + 7]
    a += x0 * x0
    b += x1 * x1
    c += x2 * x2
    e += x3 * x3
    f += x4 * x4
    g += x5 * x5
    h += x6 * x6
    k += x7 * x7
  }
  for (let i = n8; i < d.length; i++) a += d[i] * d[i]
  return a + b + (c + e) + (f + g + (h + k))
}
