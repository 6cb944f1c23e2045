import { randomBytes } from 'node:crypto'
import { InvalidArgumentError, Option } from 'commander'
import {
  EMPTY,
  Subject,
  concatWith,
  defer,
  filter,
  finalize,
  map,
  of,
  tap,
  type MonoTypeOperatorFunction,
  type Observable,
} from 'rxjs'
import { expectInteger } from '../errors.js'
import { isLoopback } from '../remote/serveInternals.js'
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
  /** milliseconds between two writes to a client that keeps up (`serveStates`' `flushMs`, default 100) */
  readonly flushMs?: number
  /** origins whose pages may read the stream (`--cors`; default none) */
  readonly cors?: readonly string[]
  /** secret clients must send (`--token`); required when `host` is not loopback */
  readonly token?: string
  /** more names clients may use in `Host` (`--allow-host`) */
  readonly hosts?: readonly string[]
  /**
   * `serveAlongside`: at most this many states a second reach the server (default 30), plus
   * every state with metrics (an evaluation) and the last one
   */
  readonly fps?: number
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
      ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
      ...(options.cors !== undefined ? { cors: options.cors } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.hosts !== undefined ? { hosts: options.hosts } : {}),
    },
  )
}

/**
 * `--serve` for a command that already subscribes to its run (to report progress): returns an
 * operator to put on that run, which publishes its states at a frame rate (`fps`, plus every
 * evaluation and the last state), and the server. The run is
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
  // the frame rate thins what the server gets, not the run the command itself reports
  const server = serveRun(states.pipe(atFrameRate(options.fps ?? 30)), options)
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
 * A frame rate's worth of a run's states, for a server (encoding and keeping every step would
 * cost more than training it, and no screen shows more): a state passes when `1000 / fps` ms
 * have gone by since the last one passed, or when it carries metrics (an evaluation) or a
 * `stopReason`; on completion the last state passes if it had not.
 *
 * @example
 * ```ts
 * run$.pipe(atFrameRate(30)).subscribe(publish) // ≤ 30 states a second, evaluations and the last
 * ```
 */
export function atFrameRate<S extends TrainState>(fps: number): MonoTypeOperatorFunction<S> {
  const every = 1000 / fps
  return (source) =>
    defer(() => {
      let sentAt = -Infinity
      let unsent: S | null = null
      const passes = (s: S) => {
        const now = performance.now()
        const pass =
          now - sentAt >= every || Object.keys(s.metrics).length > 0 || s.stopReason !== undefined
        if (pass) sentAt = now
        unsent = pass ? null : s
        return pass
      }
      return source.pipe(filter(passes), concatWith(defer(() => (unsent ? of(unsent) : EMPTY))))
    })
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

/** The flags beside `--serve PORT` and `--host HOST` that say who may read the stream. */
export interface ServeAccessFlags {
  readonly host: string
  /** `--cors ORIGIN` (repeatable) */
  readonly cors?: readonly string[]
  /** `--token TOKEN` */
  readonly token?: string
  /** `--allow-host NAME` (repeatable) */
  readonly allowHost?: readonly string[]
  /** `--serve-optional`: train on when `--serve` cannot listen */
  readonly serveOptional?: boolean
}

const collect = (v: string, prev: readonly string[] = []) => [...prev, v]

/** `--cors ORIGIN` (repeatable): pages of that origin may read `--serve`'s stream. */
export const corsOption = (): Option =>
  new Option(
    '--cors <origin>',
    "let pages from ORIGIN (e.g. http://127.0.0.1:5173, the playground) read --serve's stream; repeatable (default: no page of another origin)",
  ).argParser(collect)

/** `--token TOKEN`: the secret `--serve` clients must send. */
export const tokenOption = (): Option =>
  new Option(
    '--token <token>',
    'a secret (16+ characters) --serve clients must send as ?token=…; generated and printed when --host is not loopback',
  ).argParser((v) => {
    if (!/^[\x21-\x7e]{16,}$/.test(v)) {
      throw new InvalidArgumentError(
        `--token: expected at least 16 printable characters without spaces, got ${v.length} characters`,
      )
    }
    return v
  })

/** `--allow-host NAME` (repeatable): another name for the `--serve` host. */
export const allowHostOption = (): Option =>
  new Option(
    '--allow-host <name>',
    'another name clients may use for the --serve host (checked against the Host header); repeatable',
  ).argParser(collect)

/** `--serve-optional`: train on when `--serve` cannot listen. */
export const serveOptionalOption = (): Option =>
  new Option('--serve-optional', 'train on when --serve cannot listen (default: exit 1)')

/**
 * The access options of `serveRun` from the flags: a token is generated when `--host` is not
 * loopback and none was given.
 */
export function serveAccess(
  flags: ServeAccessFlags,
): Pick<ServeRunOptions, 'cors' | 'token' | 'hosts'> {
  const token =
    flags.token ?? (isLoopback(flags.host) ? undefined : randomBytes(16).toString('hex'))
  return {
    ...(flags.cors !== undefined ? { cors: flags.cors } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(flags.allowHost !== undefined ? { hosts: flags.allowHost } : {}),
  }
}

/**
 * Waits for the `--serve` server to listen and says where (with a warning on stderr when it
 * listens beyond loopback). A server that cannot listen (port in use, unknown host) rejects with
 * `--serve: <why>`, which ends the command with exit code 1, unless `--serve-optional`: then it
 * says so and the run trains on.
 *
 * @example
 * ```ts
 * await announceServer(serving.server, flags, io, say) // serving http://127.0.0.1:8080/events
 * ```
 * @throws {Error} `--serve: listen EADDRINUSE: address already in use 127.0.0.1:8080`
 */
export async function announceServer(
  server: Promise<StateServer>,
  flags: ServeAccessFlags,
  io: { readonly stderr: { write(text: string): unknown } },
  say: (text: string) => void,
): Promise<void> {
  let s: StateServer
  try {
    s = await server
  } catch (e) {
    const message = `--serve: ${e instanceof Error ? e.message : String(e)}`
    if (!flags.serveOptional) throw new Error(message)
    io.stderr.write(`${message} (training on without it: --serve-optional)\n`)
    return
  }
  say(`serving ${s.url}`)
  if (!isLoopback(flags.host)) {
    io.stderr.write(
      `warning: --host ${flags.host} serves the run beyond this machine: whoever reaches port ${s.port} with the token can read it (the URL above carries it)\n`,
    )
  }
}
