import type * as t from 'io-ts'
import { CosineDecayOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { Schedule } from '../../src/engine/hyperparams.js'
import { schedule } from './scheduleInternals.js'

/**
 * Cosine decay (optax's `cosine_decay_schedule`, SGDR without restarts):
 * `init · ((1 − α) · ½(1 + cos(π · min(t, steps) / steps)) + α)`. Starts at `init`, ends at
 * `α · init` at `steps` and stays there; non-increasing, within [α·init, init].
 *
 * @example
 * ```ts
 * import { cosineDecay } from 'gradstream/operators'
 *
 * const s = cosineDecay({ init: 0.1, steps: 100 })
 * console.log(s(0)) // → 0.1
 * console.log(s(50)) // → 0.05
 * console.log(s(100)) // → 0
 * ```
 * @param init value at step 0, ≥ 0 finite
 * @param steps decay steps, a positive integer
 * @param alpha final value as a fraction of init, in [0, 1] (default 0)
 * @throws {RangeError} `cosineDecay: alpha: expected a number in [0, 1], got 2`
 * @see warmup, oneCycle, exponentialDecay
 */
export function cosineDecay(options: t.TypeOf<typeof CosineDecayOptionsC>): Schedule {
  const fn = 'cosineDecay'
  decodeOptions(CosineDecayOptionsC, options, fn)
  const { init, steps, alpha = 0 } = options
  return schedule(fn, (t) => {
    const cosine = 0.5 * (1 + Math.cos((Math.PI * Math.min(t, steps)) / steps))
    return init * ((1 - alpha) * cosine + alpha)
  })
}
