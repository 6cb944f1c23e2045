import { show } from '../../src/errors.js'
import type { TrainState } from '../../src/state/types.js'
import { type Params, zipTree } from '../../src/tree/tree.js'
import type { ScheduleFreeState } from './scheduleFree.js'
import type * as t from 'io-ts'
import { NameOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

/**
 * The parameters to evaluate a schedule-free run at, optax's `schedule_free_eval_params`: the
 * average x = (y − (1 − b1)·z)/b1, from y = `state.params` and the slot's z. Before the first
 * step (no slot yet) x = y = z: the parameters themselves. Use it wherever the model is
 * measured: `evaluateEvery({ steps }, (s) => ({ acc: accuracy(net, scheduleFreeEvalParams(s), …) }))`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { gradient, maxSteps, scheduleFreeEvalParams, scheduleFreeSgd } from 'gradstream/operators'
 *
 * // f = w²: z 1 → 0.8 → 0.64; x averages z (0.8, then 0.72); y = 0.9·x + 0.1·z
 * const f = ({ w }: { w: number }) => ({ loss: w * w, grad: { w: 2 * w } })
 * train({ params: { w: 1 }, step: pipe(gradient(f), scheduleFreeSgd(0.1)) })
 *   .pipe(maxSteps(2), last())
 *   .subscribe((s) => console.log(s.params.w, scheduleFreeEvalParams(s).w))
 * // → 0.712 0.72
 * ```
 * @param state a state of a run whose step ends with `scheduleFree` (or scheduleFreeSgd/Adamw)
 * @param options.name the slot name (default `scheduleFree`)
 * @throws {TypeError} `scheduleFreeEvalParams: state.opt.scheduleFree: expected the slot of scheduleFree, got undefined`
 * @see scheduleFree
 */
export function scheduleFreeEvalParams<P extends Params>(
  state: TrainState<P>,
  options: t.TypeOf<typeof NameOptionsC> = {},
): P {
  const fn = 'scheduleFreeEvalParams'
  const name = decodeOptions(NameOptionsC, options, fn).name ?? 'scheduleFree'
  if (
    typeof state !== 'object' ||
    state === null ||
    typeof state.opt !== 'object' ||
    state.opt === null
  ) {
    throw new TypeError(`${fn}: state: expected a training state, got ${show(state)}`)
  }
  const slot = state.opt[name] as ScheduleFreeState | undefined
  if (slot === undefined && state.step === 0) return state.params
  if (typeof slot !== 'object' || slot === null || !('z' in slot) || !('b1' in slot)) {
    throw new TypeError(
      `${fn}: state.opt.${name}: expected the slot of scheduleFree, got ${show(slot)}`,
    )
  }
  const { b1, z } = slot
  return zipTree(state.params, z, (y, zi) => (y - (1 - b1) * zi) / b1, fn)
}
