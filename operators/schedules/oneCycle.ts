import type * as t from 'io-ts'
import { OneCycleOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { Schedule } from '../../src/engine/hyperparams.js'
import { schedule } from './scheduleInternals.js'

/**
 * The one-cycle policy (Smith; optax's `cosine_onecycle_schedule`): rises from
 * `maxLr / divFactor` to `maxLr` over the first `pctStart · steps` steps and falls to
 * `maxLr / (divFactor · finalDivFactor)` at `steps`, both along half cosines
 * (`a + (b − a) · (1 − cos(π · f)) / 2`), and stays there. Non-decreasing up to the peak,
 * non-increasing after; within [final, maxLr].
 *
 * @example
 * ```ts
 * import { oneCycle } from 'gradstream/operators'
 *
 * const s = oneCycle({ maxLr: 0.1, steps: 100 })
 * console.log(s(0)) // → 0.004
 * console.log(s(30)) // → 0.1
 * console.log(s(100)) // → 4e-7
 * ```
 * @param maxLr peak value, positive finite
 * @param steps cycle length, a positive integer
 * @param pctStart fraction of the cycle spent rising, in (0, 1) (default 0.3)
 * @param divFactor maxLr / initial value, positive (default 25)
 * @param finalDivFactor initial / final value, positive (default 1e4)
 * @throws {RangeError} `oneCycle: pctStart: expected a number in [0, 1), got 1`
 * @see warmup, cosineDecay
 */
export function oneCycle(options: t.TypeOf<typeof OneCycleOptionsC>): Schedule {
  const fn = 'oneCycle'
  decodeOptions(OneCycleOptionsC, options, fn)
  const { maxLr, steps, pctStart = 0.3, divFactor = 25, finalDivFactor = 1e4 } = options
  const start = maxLr / divFactor
  const final = start / finalDivFactor
  const peak = pctStart * steps
  const between = (a: number, b: number, f: number) =>
    a + ((b - a) * (1 - Math.cos(Math.PI * f))) / 2
  return schedule(fn, (t) => {
    if (t >= steps) return final
    if (t < peak) return between(start, maxLr, t / peak)
    return between(maxLr, final, (t - peak) / (steps - peak))
  })
}
