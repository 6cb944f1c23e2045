import type * as t from 'io-ts'
import { ExponentialDecayOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { Schedule } from '../../src/engine/hyperparams.js'
import { schedule } from './scheduleInternals.js'

/**
 * Exponential decay (optax's `exponential_decay`): `init · rate^(t / steps)`, or with
 * `staircase` `init · rate^⌊t / steps⌋`; then clamped at `end` (a floor when rate < 1, a
 * ceiling when rate > 1). Monotone: non-increasing for rate ≤ 1, non-decreasing for rate ≥ 1.
 *
 * @example
 * ```ts
 * import { exponentialDecay } from 'gradstream/operators'
 *
 * const s = exponentialDecay({ init: 1, rate: 0.5, steps: 10 })
 * console.log(s(0)) // → 1
 * console.log(s(10)) // → 0.5
 * console.log(s(20)) // → 0.25
 * ```
 * @param init value at step 0, positive finite
 * @param rate factor per `steps` steps, positive finite
 * @param steps transition steps, a positive integer
 * @param staircase decay in whole periods (default false)
 * @param end optional bound the value does not pass, positive finite
 * @throws {RangeError} `exponentialDecay: rate: expected a positive finite number, got 0`
 * @see stepDecay, cosineDecay
 */
export function exponentialDecay(options: t.TypeOf<typeof ExponentialDecayOptionsC>): Schedule {
  const fn = 'exponentialDecay'
  decodeOptions(ExponentialDecayOptionsC, options, fn)
  const { init, rate, steps, staircase = false, end } = options
  return schedule(fn, (t) => {
    const p = staircase ? Math.floor(t / steps) : t / steps
    const v = init * rate ** p
    if (end === undefined) return v
    return rate < 1 ? Math.max(v, end) : Math.min(v, end)
  })
}
