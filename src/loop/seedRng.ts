import { rng, type Rng } from '../random/rng.js'

/**
 * The generator a run (or a design with its own seed) starts from: `rng(seed)` advanced past
 * its first 32 outputs. pure-rand's xoroshiro128+ is seeded with the state
 * `(−1, ~seed, seed, 0)`, so its first outputs are nearly the same for every seed (the first
 * `uniform()` is 0.99999… whatever the seed) and adjacent seeds stay correlated for a few
 * draws; after 8 draws the seed has diffused (mean, second moment and sign agreement of the
 * next draws over 4000 adjacent seeds match a uniform source). Same seed, same sequence.
 */
export function seedRng(seed: number): Rng {
  const r = rng(seed)
  for (let i = 0; i < 16; i++) r.uniform()
  return r
}
