import { produce } from 'immer'
import type * as t from 'io-ts'
import { map, type OperatorFunction } from 'rxjs'
import { expectFunction, show } from '../src/errors.js'
import { EvaluateEveryEpochsC, EvaluateEveryStepsC } from '../src/state/configCodecs.js'
import { decode } from '../src/state/decode.js'
import type { TrainState } from '../src/state/types.js'

/** How often `evaluateEvery` measures: every so many steps, or every so many epochs. */
export type EvaluationInterval =
  t.TypeOf<typeof EvaluateEveryStepsC> | t.TypeOf<typeof EvaluateEveryEpochsC>

/**
 * Measures the state at regular intervals and adds the measurements to `state.metrics`, as the
 * book's `train_neuralnet.py` records train and test accuracy once per epoch. A state whose
 * `step` is a multiple of the interval (the initial state, step 0, included) passes through
 * `fn`, and its `metrics` gain `fn`'s result (with `final: true`, so does a state carrying a
 * `stopReason`: the run's last); every other state passes unchanged, so
 * `metrics` keeps the latest measurement the upstream state carried. Emits exactly what it
 * receives, one for one; completes and errors with its source; an error thrown by `fn`
 * becomes the stream's error.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { evaluateEvery, gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.25))
 * train({ params: [1], step })
 *   .pipe(
 *     maxSteps(4),
 *     evaluateEvery({ steps: 2 }, (s) => ({ w: (s.params as number[])[0] })),
 *   )
 *   .subscribe((s) => console.log(s.step, s.metrics))
 * // → 0 { w: 1 }, 1 {}, 2 { w: 0.25 }, 3 {}, 4 { w: 0.0625 }
 * ```
 * @param every `{ steps: k }` (k ≥ 1) or `{ epochs: e, stepsPerEpoch: m }` (the interval is e·m steps, rounded), each with `final?`
 * @param fn pure measurement: state → `{ name: number }` (e.g. `{ trainAcc, testAcc }`)
 * @throws {RangeError} `evaluateEvery: every.steps: expected a positive integer, got 0`
 * @see accuracy
 */
export function evaluateEvery<S extends TrainState>(
  every: EvaluationInterval,
  fn: (state: S) => { readonly [name: string]: number },
): OperatorFunction<S, S> {
  const interval = intervalOf(every)
  const final = every.final ?? false
  expectFunction('evaluateEvery', 'fn', fn)
  return map((state: S) => {
    if (state.step % interval !== 0 && !(final && state.stopReason !== undefined)) return state
    const measured = fn(state)
    return produce(state, (draft) => {
      draft.metrics = { ...state.metrics, ...measured }
    })
  })
}

function intervalOf(every: EvaluationInterval): number {
  if (typeof every !== 'object' || every === null) {
    throw new TypeError(
      `evaluateEvery: every: expected { steps } or { epochs, stepsPerEpoch }, got ${show(every)}`,
    )
  }
  // the form is chosen by `steps`; the codec names bad fields and unknown keys (`every.step`)
  if ('steps' in every) {
    decode(EvaluateEveryStepsC, every, 'evaluateEvery', 'every')
    return every.steps
  }
  decode(EvaluateEveryEpochsC, every, 'evaluateEvery', 'every')
  return Math.max(1, Math.round(every.epochs * every.stepsPerEpoch))
}
