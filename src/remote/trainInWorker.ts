import { Observable } from 'rxjs'
import { expectFunction, expectPositive } from '../errors.js'
import type { TrainState } from '../state/types.js'
import {
  listen,
  unpackState,
  type FromWorker,
  type MessageEndpoint,
  type ToWorker,
} from './remoteInternals.js'

/** A worker as `trainInWorker` needs it: a Web `Worker` or a Node `worker_threads` Worker. */
export interface WorkerLike extends MessageEndpoint {
  terminate(): unknown
}

/** A run in a worker: its states, plus the commands the page sends it while it runs. */
export interface WorkerRun<S extends TrainState = TrainState> extends Observable<S> {
  /** Asks the run to hold after its current step (its `paused$` emits `true`). */
  pause(): void
  /** Lets a paused run go on. */
  resume(): void
  /** Ends the run: it completes after the states already sent, and the worker is terminated. */
  stop(): void
  /** Sends a learning rate that the run's `lr$` emits; the next steps use it. */
  setLr(lr: number): void
}

/**
 * An error the run raised inside the worker (or the worker's own crash), with the step that
 * failed and the last state this thread received, so nothing already received is invalidated.
 */
export class WorkerRunError<S extends TrainState = TrainState> extends Error {
  override name = 'WorkerRunError'
  constructor(
    message: string,
    /** the step being computed when it failed (the remote error's, else the last state's + 1) */
    readonly step: number | undefined,
    /** the error's name inside the worker (`TrainError`, `RangeError`, …) */
    readonly remoteName: string,
    /** the last state received on this thread, if any */
    readonly lastState?: S,
  ) {
    super(message)
  }
}

/**
 * Runs a training pipeline in a worker and emits its states on the calling thread. Each
 * subscription spawns its own worker with `spawn()`, sends it `config`, and emits every state
 * the worker's `exposeTraining` posts (tensors arrive in transferred buffers, deeply frozen
 * again). Commands (`pause`, `resume`, `stop`, `setLr`) go to every live subscription's worker.
 * Completes when the run completes or is stopped; errors with a `WorkerRunError` (the failing
 * step, the last state received) when the run errors or the worker crashes. Unsubscribing terminates the worker, so no
 * computation outlives the subscription.
 *
 * @example
 * ```ts
 * import { trainInWorker, WorkerRunError } from 'gradstream'
 *
 * // the worker module calls exposeTraining (see its example)
 * const run = trainInWorker(
 *   () => new Worker(new URL('./mnist.worker.ts', import.meta.url), { type: 'module' }),
 *   { lr: 0.1 },
 * )
 * const sub = run.subscribe({
 *   next: (s) => console.log(s.step, s.loss),
 *   error: (e) => e instanceof WorkerRunError && console.log(e.step, e.remoteName, e.message),
 * })
 * run.setLr(0.05) // the next steps use 0.05
 * run.pause()
 * run.resume()
 * sub.unsubscribe() // the worker is terminated
 * ```
 * @param spawn creates a fresh worker running a module that calls `exposeTraining`
 * @param config structured-cloneable data for the worker's factory
 * @throws {TypeError} `trainInWorker: spawn: expected a function, got undefined`
 * @throws {RangeError} (from `setLr`) `trainInWorker: lr: expected a positive finite number, got -1`
 * @see exposeTraining
 */
export function trainInWorker<S extends TrainState = TrainState>(
  spawn: () => WorkerLike,
  config?: unknown,
): WorkerRun<S> {
  expectFunction('trainInWorker', 'spawn', spawn)
  const live = new Set<WorkerLike>()
  const send = (m: ToWorker) => live.forEach((w) => w.postMessage(m))

  const states$ = new Observable<S>((subscriber) => {
    const worker = spawn()
    live.add(worker)
    let done = false
    let last: S | undefined
    const failedStep = (remote?: number) => remote ?? (last ? last.step + 1 : undefined)
    const finish = () => {
      done = true
      unlisten()
      live.delete(worker)
      void worker.terminate()
    }
    const unlisten = listen(
      worker,
      (data) => {
        const m = data as FromWorker
        if (done) return
        if (m?.gs === 'state') {
          last = unpackState<S>(m.state)
          subscriber.next(last)
        } else if (m?.gs === 'complete') {
          finish()
          subscriber.complete()
        } else if (m?.gs === 'error') {
          finish()
          subscriber.error(new WorkerRunError(m.message, failedStep(m.step), m.name, last))
        }
      },
      (error) => {
        if (done) return
        finish()
        subscriber.error(new WorkerRunError(error.message, failedStep(), error.name, last))
      },
      (code) => {
        if (done) return
        finish()
        subscriber.error(
          new WorkerRunError(
            `trainInWorker: the worker exited with code ${code}`,
            failedStep(),
            'Exit',
            last,
          ),
        )
      },
    )
    worker.postMessage({ gs: 'start', config } satisfies ToWorker)
    return () => {
      if (done) return
      worker.postMessage({ gs: 'stop' } satisfies ToWorker)
      finish()
    }
  })

  return Object.assign(states$, {
    pause: () => send({ gs: 'pause' }),
    resume: () => send({ gs: 'resume' }),
    stop: () => send({ gs: 'stop' }),
    setLr: (lr: number) => {
      expectPositive('trainInWorker', 'lr', lr)
      send({ gs: 'lr', value: lr })
    },
  }) as WorkerRun<S>
}
