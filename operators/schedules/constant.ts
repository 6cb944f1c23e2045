import { expectFinite } from '../../src/errors.js'
import type { Schedule } from '../../src/engine/hyperparams.js'
import { schedule } from './scheduleInternals.js'

/**
 * The schedule that is `value` at every step.
 *
 * @example
 * ```ts
 * import { constant } from 'gradstream/operators'
 *
 * console.log(constant(0.1)(0)) // → 0.1
 * console.log(constant(0.1)(1e6)) // → 0.1
 * ```
 * @param value a finite number
 * @throws {RangeError} `constant: value: expected a finite number, got NaN`
 * @see exponentialDecay, cosineDecay, warmup
 */
export function constant(value: number): Schedule {
  expectFinite('constant', 'value', value)
  return schedule('constant', () => value)
}
