import type { Observable } from 'rxjs'
import { show } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import { leafwise } from './kernelInternals.js'
import {
  type Hyperparam,
  hyperparam,
  withHyperparams,
  unitInterval,
} from '../hyperparamInternals.js'
import { freezeData, slotName, checkOptions } from './transformInternals.js'

/** The slot of `ema`: the running average of the parameters and the step it was last updated. */
export interface EmaState {
  readonly average: Params
  readonly step: number
}

/**
 * An exponential moving average of the parameters (Polyak averaging), kept beside them in
 * `state.opt.ema.average` for evaluation: after each update, θ̄ ← β·θ̄ + (1 − β)·θ, starting from
 * θ̄ = θ at the first state it sees (so no bias correction is needed). It reads and returns
 * `TrainState`s: put it in the step pipeline after `applyUpdates()` (outside the step its slot
 * would not be fed back into the next one). Records `hyper['ema.decay']`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { ema, type EmaState, gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } }) // f = w², ∇f = 2w
 * // θ: 1 → 0.8 → 0.64; average: 0.8, then 0.5·0.8 + 0.5·0.64
 * const step = pipe(
 *   gradient(f),
 *   sgd(0.1),
 *   ema(0.5),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log((s.opt.ema as EmaState).average)) // { w: 0.72 }
 * ```
 * @param decay β in [0, 1), default 0.999 (a number, schedule or Observable)
 * @param options.name slot name (default `ema`)
 * @throws {RangeError} `ema: decay: expected a number in [0, 1), got 1`
 * @throws {Error} `ema: name: expected a slot name no other ema in this step uses, got "ema" (pass { name } to tell them apart)`
 * @see lookahead
 */
export function ema(
  decay: Hyperparam = 0.999,
  options: { readonly name?: string } = {},
): <T extends TrainState>(source: Observable<T>) => Observable<T> {
  const fn = 'ema'
  checkOptions(fn, options, ['name'])
  const name = slotName(fn, options.name)
  const specs = { decay: hyperparam(fn, 'decay', decay, unitInterval) }
  return <T extends TrainState>(source: Observable<T>) =>
    source.pipe(
      withHyperparams(
        specs,
        (s: T) => s.step,
        (s, { decay: beta }) => {
          const prev = s.opt[name] as EmaState | undefined
          if (prev !== undefined && prev.step === s.step) {
            throw new Error(
              `${name}: name: expected a slot name no other ema in this step uses, got ${show(name)} (pass { name } to tell them apart)`,
            )
          }
          const average =
            prev === undefined
              ? s.params
              : leafwise(fn, [prev.average, s.params], 1, ([a, p], [o]) =>
                  emaLeaf(a, p, o, beta),
                )[0]
          const slot: EmaState = { average, step: s.step }
          return Object.freeze({
            ...s,
            opt: Object.freeze({ ...s.opt, [name]: freezeData(slot) }),
            hyper: Object.freeze({ ...s.hyper, [`${name}.decay`]: beta }),
          })
        },
      ),
    )
}

/** o = β·a + (1 − β)·p on one leaf. */
function emaLeaf(a: Float64Array, p: Float64Array, o: Float64Array, beta: number): void {
  for (let i = 0; i < o.length; i++) o[i] = beta * a[i] + (1 - beta) * p[i]
}
