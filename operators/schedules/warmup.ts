import type * as t from 'io-ts'
import { WarmupOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { Schedule } from '../../src/engine/hyperparams.js'
import { schedule } from './scheduleInternals.js'

/**
 * Linear warmup: `from + (to − from) · t / steps` for t < steps, then `then(t − steps)` (the
 * next schedule, restarted at its own step 0), or `to` without one. Composes: warmup then
 * cosine is `warmup({ to: 0.1, steps: 100, then: cosineDecay({ init: 0.1, steps: 900 }) })`.
 * Monotone (non-decreasing for from ≤ to) during the warmup; hits `from` at 0 and `to` at
 * `steps` when `then(0) = to`.
 *
 * @example
 * ```ts
 * import { cosineDecay, warmup } from 'gradstream/operators'
 *
 * const s = warmup({ to: 0.1, steps: 10, then: cosineDecay({ init: 0.1, steps: 90 }) })
 * console.log(s(0)) // → 0
 * console.log(s(5)) // → 0.05
 * console.log(s(10)) // → 0.1
 * console.log(s(100)) // → 0
 * ```
 * @param from value at step 0, finite (default 0)
 * @param to value at the end of the warmup, finite
 * @param steps warmup length, a positive integer
 * @param then schedule after the warmup, called with `t − steps`
 * @throws {RangeError} `warmup: steps: expected a positive integer, got 0`
 * @see cosineDecay, oneCycle, piecewise
 */
export function warmup(options: t.TypeOf<typeof WarmupOptionsC>): Schedule {
  const fn = 'warmup'
  decodeOptions(WarmupOptionsC, options, fn)
  const { from = 0, to, steps, then } = options
  return schedule(fn, (t) => {
    if (t < steps) return from + ((to - from) * t) / steps
    return then === undefined ? to : then(t - steps)
  })
}
