import type * as t from 'io-ts'
import type { TensorLike } from '../functions/tensorLike.js'
import { planProbes, probeCount } from '../nn/twoLayerNetNumericalGradientInternals.js'
import type { TwoLayerNetWeights } from '../nn/twoLayerNetNumericalGradient.js'
import { TwoLayerNetNumericalGradientParallelOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import type { Tensor } from '../tensor/tensor.js'
import { costCuts, defaultThreads, probePool, TASKS_PER_THREAD } from './poolInternals.js'
import { views, type ProbeTask } from './probeWorker.js'

/** Options of `twoLayerNetNumericalGradientParallel`: h, loss and threads (codec `TwoLayerNetNumericalGradientParallelOptionsC`). */
export type TwoLayerNetNumericalGradientParallelOptions = t.TypeOf<
  typeof TwoLayerNetNumericalGradientParallelOptionsC
>

/**
 * `twoLayerNetNumericalGradient` with its probes split across worker threads: the same central
 * differences, bit for bit (every probe runs the same code, in a worker instead of the caller's
 * thread), in about 1/threads of the time on a machine with that many idle cores.
 *
 * The inputs are copied once into a SharedArrayBuffer that every worker reads; each worker
 * recomputes the unperturbed forward pass (cheap next to its probes) and writes the central
 * differences of its slice of the parameters (cut by estimated cost: a W1 probe costs as many
 * samples as its pixel is non-zero in) into a shared gradient. The workers (piscina) start on
 * the first call and stay for the next ones without keeping the process alive; `closeWorkers`
 * ends them. Node only (worker_threads).
 *
 * @example
 * ```ts
 * import { tensor, twoLayerNet, twoLayerNetNumericalGradient } from 'gradstream'
 * import { closeWorkers, twoLayerNetNumericalGradientParallel } from 'gradstream/node'
 *
 * const net = twoLayerNet({ inputSize: 3, hiddenSize: 2, outputSize: 2, seed: 1 })
 * const x = tensor([[0.5, 0, 1], [0, 0, 0.2]])
 * const t = tensor([[1, 0], [0, 1]])
 * const g = await twoLayerNetNumericalGradientParallel(net.params, x, t, { threads: 2 })
 * // the same numbers as on one thread, bit for bit:
 * g.W1.data // equals twoLayerNetNumericalGradient(net.params, x, t).W1.data
 * await closeWorkers()
 * ```
 * @param params `W1 [D,H]`, `b1 [H]`, `W2 [H,C]`, `b2 [C]`
 * @param x inputs `[N,D]` (or one `[D]`)
 * @param t one-hot targets `[N,C]` or labels `[N]`
 * @returns a Promise of `{ W1, b1, W2, b2 }`; it rejects with the messages of
 *   `twoLayerNetNumericalGradient` (under this function's name) for bad arguments
 * @throws {RangeError} `twoLayerNetNumericalGradientParallel: threads: expected an integer in [1, 256], got 0`
 * @throws {ShapeError} `twoLayerNetNumericalGradientParallel: x: expected shape [N,784] to match W1 [784,50], got [100,783]`
 * @see twoLayerNetNumericalGradient (one thread, synchronous), closeWorkers
 */
export async function twoLayerNetNumericalGradientParallel(
  params: TwoLayerNetWeights,
  x: TensorLike,
  t: TensorLike,
  opts: TwoLayerNetNumericalGradientParallelOptions = {},
): Promise<{ W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor }> {
  const fn = 'twoLayerNetNumericalGradientParallel'
  const { threads: wanted, ...o } = decodeOptions(
    TwoLayerNetNumericalGradientParallelOptionsC,
    opts,
    fn,
    'opts',
  )
  const plan = planProbes(fn, params, x, t, o)
  const threads = wanted ?? (await defaultThreads())
  const { D, H, C, N } = plan
  const P = probeCount(plan)

  const parts = [plan.X, plan.W1, plan.b1, plan.W2, plan.b2, plan.T]
  const inputs = new SharedArrayBuffer(8 * parts.reduce((s, a) => s + a.length, 0))
  views(
    inputs,
    parts.map((a) => a.length),
  ).forEach((v, i) => v.set(parts[i]))
  const grad = new SharedArrayBuffer(8 * P)

  const cuts = costCuts(plan, Math.min(P, threads * TASKS_PER_THREAD))
  const pool = await probePool(threads)
  const base = { D, H, C, N, h: plan.h, cross: plan.cross, inputs, grad }
  await Promise.all(
    cuts.slice(1).map((to, i) => {
      const task: ProbeTask = { ...base, from: cuts[i], to }
      return to > cuts[i] ? pool.run(task) : 0
    }),
  )
  const [gW1, gb1, gW2, gb2] = views(grad, [D * H, H, H * C, C])
  return {
    W1: { shape: [D, H], data: new Float64Array(gW1) },
    b1: { shape: [H], data: new Float64Array(gb1) },
    W2: { shape: [H, C], data: new Float64Array(gW2) },
    b2: { shape: [C], data: new Float64Array(gb2) },
  }
}
