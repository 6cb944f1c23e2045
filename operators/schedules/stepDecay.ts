import type * as t from 'io-ts'
import { StepDecayOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { Schedule } from '../../src/engine/hyperparams.js'
import { schedule } from './scheduleInternals.js'

/**
 * Step decay: `init · factor^⌊t / every⌋` (drop by `factor` every `every` steps).
 * Non-increasing for factor ≤ 1.
 *
 * @example
 * ```ts
 * import { stepDecay } from 'gradstream/operators'
 *
 * const s = stepDecay({ init: 0.1, factor: 0.5, every: 100 })
 * console.log(s(99)) // → 0.1
 * console.log(s(100)) // → 0.05
 * ```
 * @param init value at step 0, positive finite
 * @param factor multiplier per drop, positive finite (usually < 1)
 * @param every steps between drops, a positive integer
 * @throws {RangeError} `stepDecay: every: expected a positive integer, got 0`
 * @see exponentialDecay, piecewise
 */
export function stepDecay(options: t.TypeOf<typeof StepDecayOptionsC>): Schedule {
  const fn = 'stepDecay'
  decodeOptions(StepDecayOptionsC, options, fn)
  const { init, factor, every } = options
  return schedule(fn, (t) => init * factor ** Math.floor(t / every))
}
