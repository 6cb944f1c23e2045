import { expectInteger, show } from '../errors.js'
import { allocate, type Tensor } from '../tensor/tensor.js'
import type { Rng } from './rng.js'

/** Throws unless `r` is a generator (`rng(seed)`), naming `fn`. */
function expectRng(fn: string, r: unknown): asserts r is Rng {
  const g = r as Partial<Rng> | null
  if (typeof g !== 'object' || g === null || typeof g.normal !== 'function') {
    throw new TypeError(`${fn}: r: expected a generator (rng(seed)), got ${show(r)}`)
  }
}

/** An index array of `n` entries, or a RangeError naming `fn` when n is too large. */
function indices(fn: string, field: string, n: number): Int32Array {
  if (n > 2 ** 31 - 1) {
    throw new RangeError(`${fn}: ${field}: expected at most ${2 ** 31 - 1}, got ${show(n)}`)
  }
  return new Int32Array(n)
}

/**
 * A tensor of standard normal samples (NumPy's `np.random.randn`), scaled by `std`.
 *
 * @example
 * ```ts
 * import { randn, rng } from 'gradstream'
 *
 * const W = randn([2, 3], rng(1)) // 2×3, each N(0, 1)
 * console.log(W.shape) // → [ 2, 3 ]
 * ```
 */
export function randn(shape: readonly number[], r: Rng, std = 1): Tensor {
  expectRng('randn', r)
  const data = allocate('randn', shape)
  for (let i = 0; i < data.length; i++) data[i] = std * r.normal()
  return { shape: [...shape], data }
}

/**
 * A tensor of uniform samples in [lo, hi).
 *
 * @example
 * ```ts
 * import { rng, uniform } from 'gradstream'
 *
 * const u = uniform([3], rng(1), -1, 1) // 3 numbers in [−1, 1)
 * console.log(u.shape, u.data.every((v) => v >= -1 && v < 1)) // → [ 3 ] true
 * ```
 */
export function uniform(shape: readonly number[], r: Rng, lo = 0, hi = 1): Tensor {
  expectRng('uniform', r)
  const data = allocate('uniform', shape)
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * r.uniform()
  return { shape: [...shape], data }
}

/**
 * `k` indices drawn uniformly from [0, n) with replacement (NumPy's `np.random.choice(n, k)`).
 *
 * @example
 * ```ts
 * import { choice, rng } from 'gradstream'
 *
 * const idx = choice(60000, 100, rng(1)) // 100 indices in [0, 60000), with replacement
 * console.log(idx.constructor.name, idx.length) // → Int32Array 100
 * ```
 */
export function choice(n: number, k: number, r: Rng): Int32Array {
  expectInteger('choice', 'n', n, 1)
  expectInteger('choice', 'k', k)
  expectRng('choice', r)
  const out = indices('choice', 'k', k)
  for (let i = 0; i < k; i++) out[i] = r.int(n)
  return out
}

/**
 * A uniformly random permutation of [0, n) (Fisher–Yates).
 *
 * @example
 * ```ts
 * import { permutation, rng } from 'gradstream'
 *
 * const p = permutation(5, rng(1)) // 0…4 in a random order
 * console.log([...p].sort()) // → [ 0, 1, 2, 3, 4 ]
 * ```
 */
export function permutation(n: number, r: Rng): Int32Array {
  expectInteger('permutation', 'n', n)
  expectRng('permutation', r)
  const out = indices('permutation', 'n', n)
  for (let i = 0; i < n; i++) out[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1)
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}
