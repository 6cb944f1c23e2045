import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator'
import { expectInteger, show } from '../errors.js'

/**
 * A seeded source of randomness (xoroshiro128+ from pure-rand). It advances as it is drawn
 * from; `state()` captures where it is as plain numbers, so a checkpoint can hold it and
 * `rngFromState` continue the exact sequence.
 */
export interface Rng {
  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number
  /** A uniform integer in [0, n). */
  int(n: number): number
  /** A standard normal deviate (Box–Muller, both halves used). */
  normal(): number
  /** The generator's state, JSON-serialisable. */
  state(): RngState
}

/** What `Rng.state()` returns: the generator words and a pending normal deviate, if any. */
export interface RngState {
  readonly words: readonly number[]
  readonly spare: number | null
}

const TWO_POW_32 = 4294967296
const TWO_POW_53 = 9007199254740992

function wrap(gen: JumpableRandomGenerator, spareIn: number | null): Rng {
  let spare = spareIn
  const u32 = () => gen.next() >>> 0
  const uniform = () => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / TWO_POW_53
  return {
    uniform,
    int(n) {
      // rejection sampling on 32 bits keeps the draw exactly uniform
      if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32)
        throw new RangeError(`rng.int: n: expected an integer in [1, 2^32], got ${show(n)}`)
      const limit = TWO_POW_32 - (TWO_POW_32 % n)
      let v = u32()
      while (v >= limit) v = u32()
      return v % n
    },
    normal() {
      if (spare !== null) {
        const s = spare
        spare = null
        return s
      }
      let u1 = uniform()
      while (u1 === 0) u1 = uniform()
      const u2 = uniform()
      const r = Math.sqrt(-2 * Math.log(u1))
      spare = r * Math.sin(2 * Math.PI * u2)
      return r * Math.cos(2 * Math.PI * u2)
    },
    state: () => ({ words: [...gen.getState()], spare }),
  }
}

/**
 * splitmix32's output function: a bijection of 32-bit words with full avalanche, so seeds
 * that differ in one bit give unrelated states.
 */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) | 0
}

/**
 * A new generator from an integer seed. The same seed always gives the same sequence.
 *
 * The four 32-bit words of xoroshiro128+'s state are the seed run through splitmix32 (as the
 * generator's authors recommend), not pure-rand's own seeding `(−1, ~seed, seed, 0)`, whose
 * first outputs are nearly equal for every seed (the first `uniform()` was 0.99999… whatever
 * the seed) and correlated between adjacent seeds. The seed is taken modulo 2³², so `-1` and
 * `4294967295` name the same stream.
 *
 * @example
 * ```ts
 * import { rng } from 'gradstream'
 *
 * const r = rng(42)
 * console.log(r.uniform() === rng(42).uniform()) // → true
 * // same seed, same numbers: uniform, int(n), normal, and state() to save the position
 * ```
 * @throws {RangeError} `rng: seed: expected an integer in [-2147483648, 4294967295], got 0.5`
 */
export function rng(seed: number): Rng {
  expectInteger('rng', 'seed', seed, -2147483648, 4294967295)
  const w0 = splitmix32(seed | 0)
  const w1 = splitmix32(w0 ^ 0x6a09e667)
  const w2 = splitmix32(w1 ^ 0xbb67ae85)
  const w3 = splitmix32(w2 ^ 0x3c6ef372)
  return wrap(xoroshiro128plusFromState([w0, w1, w2, w3]), null)
}

/**
 * Continues a generator from a captured `state()`.
 *
 * @example
 * ```ts
 * import { rng, rngFromState } from 'gradstream'
 *
 * const a = rng(1)
 * a.uniform()
 * const b = rngFromState(a.state())
 * console.log(a.uniform() === b.uniform()) // → true
 * ```
 */
export function rngFromState(state: RngState): Rng {
  const words = (state as RngState | null)?.words
  if (
    !Array.isArray(words) ||
    words.length !== 4 ||
    !words.every((w) => Number.isInteger(w) && w >= -2147483648 && w <= 4294967295)
  ) {
    throw new TypeError(`rngFromState: state.words: expected 4 32-bit integers, got ${show(words)}`)
  }
  const spare = state.spare
  if (spare !== null && !Number.isFinite(spare)) {
    throw new TypeError(
      `rngFromState: state.spare: expected null or a finite number, got ${show(spare)}`,
    )
  }
  return wrap(xoroshiro128plusFromState(words), spare)
}
