import { isObservable, skip, type Observable, type OperatorFunction } from 'rxjs'
import { checkData, type DataSource } from '../loop/batchesInternals.js'
import type { TrainMode } from '../loop/mode.js'
import { train } from '../train.js'
import type { Params } from '../tree/tree.js'
import { parseCheckpoint } from './checkpoint.js'
import { TrainStateC } from './codecs.js'
import { ResumeConfigC } from './configCodecs.js'
import { decode, decodeOptions } from './decode.js'
import type { TrainState } from './types.js'

/** What `resume` needs besides the checkpoint: the same pipeline the run was started with. */
export interface ResumeConfig<P extends Params, B = unknown> {
  /** the step operator, built exactly as for the original run */
  readonly step: OperatorFunction<TrainState<P>, TrainState<P>>
  /**
   * The run's data, as given to `train` (resume skips the `state.step` batches the run already
   * used: the source must replay the same sequence, as a seeded sampler does), or a function of
   * the restored state returning the data from where it stood (no skipping), e.g.
   * `(s) => epochBatches(train, { batchSize, seed, from: position })`.
   */
  readonly data?: DataSource<B> | ((from: TrainState<P>) => DataSource<B>)
  /** the driver mode, as for `train` (default sync) */
  readonly mode?: TrainMode
}

/**
 * Continues a run from a checkpoint: the same parameters, optimizer slots (`opt`), schedule
 * position (`step`), random generator state, loss history and metrics, and the data where it
 * stood — so running n steps is bit for bit the same as running k, checkpointing, resuming
 * and running n − k. Emits the restored state first (as `train` emits its initial state),
 * then every later state; everything else is as `train`.
 *
 * @example
 * ```ts
 * import { pipe, take } from 'rxjs'
 * import { checkpoint, resume, tensor, train, type Tensor } from 'gradstream'
 * import { centralDifference, gradient, loss, perturb, sgd } from 'gradstream/operators'
 *
 * const step = pipe(
 *   perturb<Tensor>(centralDifference()),
 *   loss((x) => x.data[0] ** 2),
 *   gradient(),
 *   sgd(0.1),
 * )
 * let saved = ''
 * train({ params: tensor([3]), step }).pipe(take(11)).subscribe((s) => (saved = checkpoint(s)))
 * const steps: number[] = []
 * resume(saved, { step }).pipe(take(11)).subscribe((s) => steps.push(s.step))
 * console.log(steps.join(' ')) // → 10 11 12 13 14 15 16 17 18 19 20
 * ```
 * @param checkpoint the JSON text `checkpoint(state)` wrote, or a state (e.g. `restore(json)`)
 * @throws {TypeError} `resume: json: expected a complete JSON checkpoint, got invalid JSON (…)`
 * @throws {TypeError} `resume: step: expected a function, got undefined`
 * @throws {TypeError} `resume: config.dat: expected no such key (known: step, data, mode), got []`
 * @see checkpoint, restore, checkpointEvery, train
 */
export function resume<P extends Params = Params, B = unknown>(
  checkpoint: string | TrainState<P>,
  config: ResumeConfig<P, B>,
): Observable<TrainState<P>> {
  const state = (
    typeof checkpoint === 'string'
      ? parseCheckpoint(checkpoint, 'resume')
      : decode(TrainStateC, checkpoint, 'resume', 'checkpoint')
  ) as TrainState<P>
  decodeOptions(ResumeConfigC, config, 'resume', 'config')
  const { step, data, mode } = config
  let source: DataSource<B> | undefined
  if (typeof data === 'function' && !isObservable(data)) {
    source = (data as (from: TrainState<P>) => DataSource<B>)(state)
    checkData('resume', source)
  } else if (data !== undefined) {
    source = skipBatches(data as DataSource<B>, state.step)
  }
  return train<P, B>({
    params: state.params,
    step,
    ...(source !== undefined ? { data: source } : {}),
    ...(mode !== undefined ? { mode } : {}),
    from: state,
  })
}

/** `data` without its first `n` batches (each subscription / iterator starts afresh). */
function skipBatches<B>(data: DataSource<B>, n: number): DataSource<B> {
  if (n === 0) return data
  // an Iterable first, as train reads it: a sampler (`randomBatches`) is both, and its
  // Observable side pushes batches without end, synchronously
  if (typeof (data as Iterable<B>)[Symbol.iterator] === 'function') {
    const it = data as Iterable<B>
    return {
      *[Symbol.iterator]() {
        let i = 0
        for (const b of it) if (i++ >= n) yield b
      },
    }
  }
  if (isObservable(data)) return data.pipe(skip(n))
  const ait = data as AsyncIterable<B>
  return {
    async *[Symbol.asyncIterator]() {
      let i = 0
      for await (const b of ait) if (i++ >= n) yield b
    },
  }
}
