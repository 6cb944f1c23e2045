import type { Observable } from 'rxjs'
import type { TrainState } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import { leafwise } from '../../src/engine/leaves.js'
import { stage } from '../../src/engine/fusion.js'
import { type Hyperparam, hyperAt, hyperparam, unitInterval } from '../../src/engine/hyperparams.js'
import { withSlots } from '../../src/engine/state.js'
import { duplicateSlot, freezeData, positionalOptions } from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { EmaOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

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
 *   ema({ decay: 0.5 }),
 * )
 * train({ params: { w: 1 }, step })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log((s.opt.ema as EmaState).average)) // → { w: 0.72 }
 * ```
 * @param options.decay β in [0, 1), default 0.999 (a number, schedule or Observable)
 * @param options.name slot name (default `ema`)
 * @throws {RangeError} `ema: decay: expected a number in [0, 1), got 1`
 * @throws {Error} `ema: name: expected a slot name no other ema in this step uses, got "ema" (pass { name } to tell them apart)`
 * @see lookahead
 */
export function ema(
  options?: t.TypeOf<typeof EmaOptionsC>,
): <T extends TrainState>(source: Observable<T>) => Observable<T>
/** @deprecated decay positional, kept for one release: write `ema({ decay, name })`. */
export function ema(
  decay: Hyperparam,
  options?: { readonly name?: string },
): <T extends TrainState>(source: Observable<T>) => Observable<T>
export function ema(
  ...args: unknown[]
): <T extends TrainState>(source: Observable<T>) => Observable<T> {
  const fn = 'ema'
  const o = decodeOptions(EmaOptionsC, positionalOptions(fn, ['decay'], args), fn)
  const name = o.name ?? fn
  const spec = hyperparam(fn, 'decay', o.decay ?? 0.999, unitInterval)
  const key = `${name}.decay`
  // a fusible stage (see src/engine/fusion.ts): after the optimizer, in the same hop
  return <T extends TrainState>(source: Observable<T>) =>
    stage<T, T>((run) => {
      const at = hyperAt(spec, run)
      /** the hyper record built last step, and the one it was built from */
      let lastIn: TrainState['hyper'] | null = null
      let lastOut: TrainState['hyper'] | null = null
      return (s) => {
        const beta = at(s.step)
        const prev = s.opt[name] as EmaState | undefined
        if (prev !== undefined && prev.step === s.step) {
          throw duplicateSlot(name, 'ema')
        }
        const average =
          prev === undefined
            ? s.params
            : leafwise(fn, [prev.average, s.params], 1, ([a, p], [o]) => emaLeaf(a, p, o, beta))[0]
        const slot: EmaState = Object.freeze({ average: freezeData(average), step: s.step })
        // reused when it would be equal: { ...h, [key]: β } with h already saying β is h
        const h = s.hyper
        let hyper: TrainState['hyper']
        if ((h === lastIn || h === lastOut) && Object.is(lastOut![key], beta)) hyper = lastOut!
        else {
          hyper =
            Object.hasOwn(h, key) && Object.is(h[key], beta) && Object.isFrozen(h)
              ? h
              : Object.freeze({ ...h, [key]: beta })
          lastIn = h
          lastOut = hyper
        }
        return withSlots(s, Object.freeze({ ...s.opt, [name]: slot }), hyper, s.lr)
      }
    })(source)
}

/** o = β·a + (1 − β)·p on one leaf. */
function emaLeaf(a: Float64Array, p: Float64Array, o: Float64Array, beta: number): void {
  for (let i = 0; i < o.length; i++) o[i] = beta * a[i] + (1 - beta) * p[i]
}
