import { map, type OperatorFunction } from 'rxjs'
import type { TrainState } from '../state/types.js'
import { normOf } from './leavesInternals.js'

/**
 * One row of a run's log: the step, the loss, the learning rate, the gradient's global norm and
 * every metric the state carries under its own name. A metric named like one of the four
 * columns (`loss`, …) is kept as `metrics.loss`.
 */
export interface TrainRecord {
  /** completed updates (0 for the initial state) */
  readonly step: number
  /** the objective the last update started from (NaN on the initial state) */
  readonly loss: number
  /** the learning rate the last update used (NaN on the initial state) */
  readonly lr: number
  /** ‖grad‖₂ over the whole parameter tree (NaN on the initial state, which has no gradient) */
  readonly gradNorm: number
  /** the state's metrics (`trainAcc`, `testAcc`, …): present only on states that carry them */
  readonly [metric: string]: number
}

/**
 * Turns each state into a flat, plain record — what a dashboard, a table or an app's own log
 * keeps of a step — and emits it; completes and errors with its source. Browser-safe: nothing
 * is written anywhere (`toCsv` and `toTensorBoard` in `gradstream/node` write files).
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { toRecords, train } from 'gradstream'
 * import { evaluateEvery, gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const f = (x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })
 * const x = (s: { params: unknown }) => ({ x: (s.params as number[])[0] })
 * train({ params: [1], step: pipe(gradient(f), sgd(0.25)) })
 *   .pipe(maxSteps(2), evaluateEvery({ steps: 2 }, x), toRecords())
 *   .subscribe((r) => console.log(r.step, r.loss, r.lr, r.gradNorm, r.x))
 * // → 0 NaN NaN NaN 1, 1 1 0.25 2 undefined, 2 0.25 0.25 1 0.25
 * ```
 * @see toCsv, toTensorBoard (gradstream/node), toWireFrame
 */
export function toRecords<S extends TrainState>(): OperatorFunction<S, TrainRecord> {
  return map((s: S) => recordOf(s))
}

const COLUMNS = new Set(['step', 'loss', 'lr', 'gradNorm'])

/**
 * The record of one state (see `toRecords`): `step, loss, lr, gradNorm` and the metrics; without
 * `gradNorm` when `withNorm` is false (`toCsv`'s `gradNorm: false`).
 */
export function recordOf(s: TrainState, withNorm = true): TrainRecord {
  const r: Record<string, number> = { step: s.step, loss: s.loss, lr: s.lr }
  if (withNorm) r.gradNorm = s.grad === null ? NaN : normOf(s.grad)
  for (const [name, v] of Object.entries(s.metrics))
    r[COLUMNS.has(name) ? `metrics.${name}` : name] = v
  return r as TrainRecord
}
