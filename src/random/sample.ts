import { expectInteger } from '../errors.js'
import { checkShape, sizeOf, type Tensor } from '../tensor/tensor.js'
import type { Rng } from './rng.js'

/**
 * A tensor of standard normal samples (NumPy's `np.random.randn`), scaled by `std`.
 *
 * @example
 * ```ts
 * const W = randn([2, 3], rng(1)) // 2×3, N(0, 1)
 * ```
 */
export function randn(shape: readonly number[], r: Rng, std = 1): Tensor {
  checkShape('randn', shape)
  const data = new Float64Array(sizeOf(shape))
  for (let i = 0; i < data.length; i++) data[i] = std * r.normal()
  return { shape: [...shape], data }
}

/**
 * A tensor of uniform samples in [lo, hi).
 *
 * @example
 * ```ts
 * uniform([3], rng(1), -1, 1)
 * ```
 */
export function uniform(shape: readonly number[], r: Rng, lo = 0, hi = 1): Tensor {
  checkShape('uniform', shape)
  const data = new Float64Array(sizeOf(shape))
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r.uniform()
  return { shape: [...shape], data }
}

/**
 * `k` indices drawn uniformly from [0, n) with replacement (NumPy's `np.random.choice(n, k)`).
 *
 * @example
 * ```ts
 * choice(60000, 100, rng(1)) // Int32Array of 100 indices
 * ```
 */
export function choice(n: number, k: number, r: Rng): Int32Array {
  expectInteger('choice', 'n', n, 1)
  expectInteger('choice', 'k', k)
  const out = new Int32Array(k)
  for (let i = 0; i < k; i++) out[i] = r.int(n)
  return out
}

/**
 * A uniformly random permutation of [0, n) (Fisher–Yates).
 *
 * @example
 * ```ts
 * permutation(5, rng(1)) // e.g. Int32Array [3, 0, 4, 1, 2]
 * ```
 */
export function permutation(n: number, r: Rng): Int32Array {
  expectInteger('permutation', 'n', n)
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1)
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}
