import type { TrainState } from '../state/types.js'
import { normOf } from './leavesInternals.js'
import type { TrainRecord } from './toRecords.js'

const COLUMNS = new Set(['step', 'loss', 'lr', 'gradNorm'])

/** The record of one state (see `toRecords`): `step, loss, lr, gradNorm` and the metrics. */
export function recordOf(s: TrainState): TrainRecord {
  const r: Record<string, number> = {
    step: s.step,
    loss: s.loss,
    lr: s.lr,
    gradNorm: s.grad === null ? NaN : normOf(s.grad),
  }
  for (const [name, v] of Object.entries(s.metrics))
    r[COLUMNS.has(name) ? `metrics.${name}` : name] = v
  return r as TrainRecord
}
