import { show } from '../../src/errors.js'
import type { Schedule } from '../../src/engine/hyperparams.js'

/**
 * Wraps a schedule body with the check every schedule makes of its argument: a step is a
 * non-negative finite number (the number of updates completed).
 */
export function schedule(fn: string, body: (t: number) => number): Schedule {
  return (step: number) => {
    if (typeof step !== 'number' || !(step >= 0) || step === Infinity) {
      const E = typeof step === 'number' ? RangeError : TypeError
      throw new E(`${fn}: step: expected a non-negative finite number, got ${show(step)}`)
    }
    return body(step)
  }
}
