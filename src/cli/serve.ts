import { Subject, finalize, map, tap, type MonoTypeOperatorFunction, type Observable } from 'rxjs'
import { expectInteger } from '../errors.js'
import { serveStates, type StateServer } from '../remote/serveStates.js'
import type { TrainState } from '../state/types.js'
import { toWireFrame } from '../state/wireFormat.js'

/** Options of `serveRun` (the CLI's `--serve PORT` and `--host HOST`). */
export interface ServeRunOptions {
  readonly port: number
  /** default `127.0.0.1` (loopback only) */
  readonly host?: string
  /** names the run in every frame */
  readonly run?: string
  /**
   * milliseconds to keep serving after the run ends, so that a client caught reconnecting
   * still gets the last states and the end (default 1000)
   */
  readonly linger?: number
  /** include parameters in the frames (default false) */
  readonly params?: boolean
}

/**
 * The CLI's `--serve PORT`: publishes a run's states as Server-Sent Events (wire format v1) on
 * `http://HOST:PORT/events` while it trains, so the playground's Live page or
 * `fromServerSentStates` can plot it from another process. The run is subscribed at once;
 * the server closes by itself `linger` ms after the run ends.
 *
 * @example
 * ```ts
 * const server = await serveRun(run$, { port: 8080 })
 * process.stderr.write(`serving ${server.url}\n`)
 * await server.closed
 * ```
 * @throws {RangeError} `serveRun: port: expected an integer in [0, 65535], got -1`
 * @see serveStates, fromServerSentStates
 */
export function serveRun(
  state$: Observable<TrainState>,
  options: ServeRunOptions,
): Promise<StateServer> {
  expectInteger('serveRun', 'port', options.port, 0, 65535)
  const t0 = performance.now()
  return serveStates(
    state$.pipe(
      map((s) =>
        toWireFrame(s, {
          params: options.params ?? false,
          time: performance.now() - t0,
          ...(options.run !== undefined ? { run: options.run } : {}),
        }),
      ),
    ),
    {
      port: options.port,
      host: options.host ?? '127.0.0.1',
      linger: options.linger ?? 1000,
    },
  )
}

/**
 * `--serve` for a command that already subscribes to its run (to report progress): returns an
 * operator to put on that run, which publishes every state it sees, and the server. The run is
 * not subscribed a second time; when it completes, errors or is unsubscribed, clients get the
 * end of the stream and the server closes (after `linger` ms).
 *
 * @example
 * ```ts
 * const serving = serveAlongside({ port: 8080 })
 * void serving.server.then((s) => console.error(`serving ${s.url}`))
 * run$.pipe(serving.operator).subscribe(report)
 * ```
 * @throws {RangeError} `serveRun: port: expected an integer in [0, 65535], got -1`
 */
export function serveAlongside<S extends TrainState>(
  options: ServeRunOptions,
): { readonly operator: MonoTypeOperatorFunction<S>; readonly server: Promise<StateServer> } {
  const states = new Subject<TrainState>()
  const server = serveRun(states, options)
  let ended = false
  const end = () => {
    if (!ended) ((ended = true), states.complete())
  }
  const operator: MonoTypeOperatorFunction<S> = (source) =>
    source.pipe(
      tap({
        next: (s) => states.next(s),
        error: (e: unknown) => ((ended = true), states.error(e)),
        complete: end,
      }),
      finalize(end),
    )
  return { operator, server }
}

/**
 * Reads the `--serve` flag's value.
 *
 * @example
 * ```ts
 * parseServePort('8080') // 8080
 * parseServePort('http') // RangeError: serve: port: expected an integer in [0, 65535], got "http"
 * ```
 * @throws {RangeError} `serve: port: expected an integer in [0, 65535], got "http"`
 */
export function parseServePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new RangeError(
      `serve: port: expected an integer in [0, 65535], got ${JSON.stringify(text)}`,
    )
  }
  return Number(text)
}
