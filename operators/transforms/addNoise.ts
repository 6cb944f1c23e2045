import { rng, rngFromState, type RngState } from '../../src/random/rng.js'
import { mapTree } from '../../src/tree/tree.js'
import { hyperparam, nonNegative } from '../../src/engine/hyperparams.js'
import type { TransformOperator } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { AddNoiseOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `addNoise`: steps taken and where the generator stands. */
export interface AddNoiseState {
  readonly count: number
  readonly rng: RngState
}

/**
 * Annealed Gaussian gradient noise (Neelakantan et al. 2015; optax's `add_noise`): with
 * t = count + 1, u ← u + σₜ·n, n ~ N(0, I), σₜ² = η / tᵞ. The generator's state lives in the
 * slot, so the same seed gives the same noise and a resumed run continues the sequence.
 * Normals are drawn in the tree's flattening order.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import { addNoise, applyUpdates, gradient, maxSteps } from 'gradstream/operators'
 *
 * const f = () => ({ loss: 0, grad: { w: 0 } })
 * // step 1: 0 + √0.01·n, n the first normal of rng(1)
 * const step = pipe(
 *   gradient(f),
 *   addNoise({ eta: 0.01, seed: 1 }),
 *   tap((s) => console.log(s.updates.w)), // → 0.0828875260208238
 *   applyUpdates(),
 * )
 * train({ params: { w: 0 }, step }).pipe(maxSteps(1)).subscribe()
 * ```
 * @param options.eta η ≥ 0, default 0.01
 * @param options.gamma γ ≥ 0, default 0.55
 * @param options.seed an integer seed (rng's range)
 * @param options.name slot name (default `addNoise`)
 * @throws {RangeError} `addNoise: seed: expected an integer in [-2147483648, 4294967295], got 0.5`
 * @see clipByGlobalNorm
 */
export function addNoise(
  options: t.TypeOf<typeof AddNoiseOptionsC>,
): TransformOperator<AddNoiseState> {
  const fn = 'addNoise'
  if (options === undefined) {
    throw new TypeError(`${fn}: options: expected an object with a seed, got undefined`)
  }
  const o = decodeOptions(AddNoiseOptionsC, options, fn)
  const seed = o.seed
  return gradientTransform<AddNoiseState>({
    name: o.name ?? fn,
    hyper: {
      eta: hyperparam(fn, 'eta', o.eta ?? 0.01, nonNegative),
      gamma: hyperparam(fn, 'gamma', o.gamma ?? 0.55, nonNegative),
    },
    init: () => ({ count: 0, rng: rng(seed).state() }),
    update: (u, s, { hyper: { eta, gamma } }) => {
      const t = s.count + 1
      const sigma = Math.sqrt(eta / t ** gamma)
      const r = rngFromState(s.rng)
      const out = mapTree(u, (v) => v + sigma * r.normal())
      return [out, { count: t, rng: r.state() }]
    },
  })
}
