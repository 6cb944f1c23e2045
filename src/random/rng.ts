import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'
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
 * A new generator from an integer seed. The same seed always gives the same sequence.
 *
 * @example
 * ```ts
 * const r = rng(42)
 * r.uniform() === rng(42).uniform() // true
 * ```
 * @throws {RangeError} `rng: seed: expected an integer in [-2147483648, 4294967295], got 0.5`
 */
export function rng(seed: number): Rng {
  expectInteger('rng', 'seed', seed, -2147483648, 4294967295)
  return wrap(xoroshiro128plus(seed | 0), null)
}

/**
 * Continues a generator from a captured `state()`.
 *
 * @example
 * ```ts
 * const a = rng(1); a.uniform()
 * const b = rngFromState(a.state())
 * a.uniform() === b.uniform() // true
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
