import { BehaviorSubject, Subject, type Observable, type Subscription } from 'rxjs'
import { expectFunction } from '../errors.js'
import type { TrainState } from '../state/types.js'
import {
  listen,
  packState,
  type FromWorker,
  type MessageEndpoint,
  type ToWorker,
} from './remoteInternals.js'

/** What the page can steer, as Observables the worker's pipeline reads. */
export interface WorkerControls {
  /**
   * Learning rates sent by `setLr`, newest first to arrive last; emits nothing until the page
   * sets one (start it from the config: `lr$.pipe(startWith(config.lr))`).
   */
  readonly lr$: Observable<number>
  /** `true` while the page has paused the run; starts `false`. Feed it to train's pause mode. */
  readonly paused$: Observable<boolean>
}

/** Builds the run inside the worker from the page's config. */
export type TrainingFactory<C = unknown, S extends TrainState = TrainState> = (
  config: C,
  controls: WorkerControls,
) => Observable<S>

/**
 * The worker side of `trainInWorker`: call it once at the top of a worker module. Each `start`
 * from the page builds a run with `factory(config, controls)` and posts every state back, its
 * tensors moved as transferred buffers; `stop` (or the page unsubscribing) unsubscribes the run.
 * The run should not block its thread for long (use the loop's chunked mode), so that pause,
 * resume, stop and learning-rate messages are read between chunks.
 *
 * @example
 * ```ts
 * // mnist.worker.ts, started by the page as
 * // new Worker(new URL('./mnist.worker.ts', import.meta.url), { type: 'module' })
 * import { pipe, startWith } from 'rxjs'
 * import { chunked, exposeTraining, pausable, train } from 'gradstream'
 * import { gradient, sgd } from 'gradstream/operators'
 *
 * const f = (x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })
 * exposeTraining((config: { lr: number }, { lr$, paused$ }) =>
 *   train({
 *     params: [1],
 *     step: pipe(gradient(f), sgd(lr$.pipe(startWith(config.lr)))),
 *     mode: pausable(paused$, chunked({ steps: 10 })), // messages are read between chunks
 *   }),
 * )
 * // In Node: exposeTraining(factory, parentPort) in a worker_threads module.
 * ```
 * @param factory builds the run's Observable from the page's config and the controls
 * @param port where the page's messages arrive: `self` in a Web Worker (the default), Node's
 *   `parentPort` from `node:worker_threads`
 * @throws {TypeError} `exposeTraining: factory: expected a function, got 3`
 * @throws {TypeError} `exposeTraining: port: expected a worker's self or parentPort, got undefined`
 *   when called outside a worker without a port
 * @see trainInWorker
 */
export function exposeTraining<C, S extends TrainState>(
  factory: TrainingFactory<C, S>,
  port: MessageEndpoint | null | undefined = (globalThis as { self?: MessageEndpoint }).self,
): () => void {
  expectFunction('exposeTraining', 'factory', factory)
  if (
    port == null ||
    typeof port.postMessage !== 'function' ||
    (typeof port.on !== 'function' && typeof port.addEventListener !== 'function')
  ) {
    throw new TypeError(
      `exposeTraining: port: expected a worker's self or parentPort, got ${String(port)}`,
    )
  }
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)
  let run: Subscription | null = null
  let lr$ = new Subject<number>()
  let paused$ = new BehaviorSubject(false)

  const onMessage = (data: unknown) => {
    const m = data as ToWorker
    switch (m?.gs) {
      case 'start': {
        run?.unsubscribe()
        lr$ = new Subject<number>()
        paused$ = new BehaviorSubject(false)
        let source: Observable<S>
        try {
          source = factory(m.config as C, {
            lr$: lr$.asObservable(),
            paused$: paused$.asObservable(),
          })
        } catch (e) {
          post(errorMessage(e))
          return
        }
        run = source.subscribe({
          next: (s) => {
            const { state, transfer } = packState(s)
            post({ gs: 'state', state }, transfer)
          },
          error: (e) => post(errorMessage(e)),
          complete: () => post({ gs: 'complete' }),
        })
        return
      }
      case 'lr':
        lr$.next(m.value)
        return
      case 'pause':
        paused$.next(true)
        return
      case 'resume':
        paused$.next(false)
        return
      case 'stop':
        run?.unsubscribe()
        run = null
        post({ gs: 'complete' })
        return
    }
  }
  const unlisten = listen(port, onMessage)
  return () => {
    run?.unsubscribe()
    unlisten()
  }
}

/** The error for the page: its name, message and, for a `TrainError`, the step that failed. */
function errorMessage(e: unknown): FromWorker {
  const err = e instanceof Error ? e : new Error(String(e))
  const step = (err as { step?: unknown }).step
  return {
    gs: 'error',
    name: err.name,
    message: err.message,
    ...(typeof step === 'number' ? { step } : {}),
  }
}
