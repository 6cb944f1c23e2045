/**
 * A worker thread's task for `twoLayerNetNumericalGradientParallel` (run by the piscina pool of
 * poolInternals.ts): the probes [from, to) of the flat parameters, read from and written to shared
 * memory. The plan's arrays are views on one SharedArrayBuffer (the main thread copied the
 * inputs in once); the gradient is another, each task writing only its own indices.
 */
import { runProbes, type ProbePlan } from '../nn/twoLayerNetNumericalGradientInternals.js'

/** A slice of the probes, with the shared buffers and where each array lies in them. */
export interface ProbeTask {
  readonly D: number
  readonly H: number
  readonly C: number
  readonly N: number
  readonly h: number
  readonly cross: boolean
  /** X, W1, b1, W2, b2, T back to back (float64) */
  readonly inputs: SharedArrayBuffer
  /** the gradient W1, b1, W2, b2 back to back (float64) */
  readonly grad: SharedArrayBuffer
  readonly from: number
  readonly to: number
}

/** Cuts `buffer` into consecutive float64 views of the given lengths. */
export function views(buffer: SharedArrayBuffer, lengths: readonly number[]): Float64Array[] {
  let at = 0
  return lengths.map((n) => {
    const v = new Float64Array(buffer, at * 8, n)
    at += n
    return v
  })
}

/** Runs one slice of the probes into the shared gradient. */
export default function probeTask(task: ProbeTask): number {
  const { D, H, C, N } = task
  const [X, W1, b1, W2, b2, T] = views(task.inputs, [N * D, D * H, H, H * C, C, N * C])
  const plan: ProbePlan = { D, H, C, N, h: task.h, cross: task.cross, X, W1, b1, W2, b2, T }
  const [gW1, gb1, gW2, gb2] = views(task.grad, [D * H, H, H * C, C])
  runProbes(plan, task.from, task.to, { W1: gW1, b1: gb1, W2: gW2, b2: gb2 })
  return task.to - task.from
}
