import type * as t from 'io-ts'
import { expectFinite, expectInteger } from '../../src/errors.js'
import { PiecewiseOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import type { Schedule } from '../../src/engine/hyperparams.js'
import { schedule } from './scheduleInternals.js'

/**
 * Piecewise constant: `values[k]` where k is the number of `boundaries` ≤ t. So `values[0]`
 * before the first boundary and `values[last]` from the last one on.
 *
 * @example
 * ```ts
 * import { piecewise } from 'gradstream/operators'
 *
 * const s = piecewise({ boundaries: [100, 200], values: [0.1, 0.01, 0.001] })
 * console.log(s(99)) // → 0.1
 * console.log(s(100)) // → 0.01
 * console.log(s(250)) // → 0.001
 * ```
 * @param boundaries strictly increasing non-negative integers
 * @param values finite numbers, one more than boundaries
 * @throws {RangeError} `piecewise: values: expected 3 values (one more than boundaries), got 2`
 * @see stepDecay, warmup
 */
export function piecewise(options: t.TypeOf<typeof PiecewiseOptionsC>): Schedule {
  const fn = 'piecewise'
  decodeOptions(PiecewiseOptionsC, options, fn)
  const { boundaries, values } = options
  boundaries.forEach((b, i) => {
    expectInteger(fn, `boundaries[${i}]`, b, i === 0 ? 0 : boundaries[i - 1] + 1)
  })
  values.forEach((v, i) => expectFinite(fn, `values[${i}]`, v))
  if (values.length !== boundaries.length + 1) {
    throw new RangeError(
      `${fn}: values: expected ${boundaries.length + 1} values (one more than boundaries), got ${values.length}`,
    )
  }
  const bs = [...boundaries]
  const vs = [...values]
  return schedule(fn, (t) => {
    let k = 0
    while (k < bs.length && bs[k] <= t) k++
    return vs[k]
  })
}
