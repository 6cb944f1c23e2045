import { Observable } from 'rxjs'
import { expectInteger, expectNonNegative, expectPositive, show } from '../errors.js'
import { describe } from '../state/json.js'
import { decodeWireLine, type WireFrame } from '../state/wireFormat.js'
import { LineSplitter } from './eventStreamInternals.js'

/** Options of `fromServerSentStates`. */
export interface ServerSentStatesOptions {
  /**
   * milliseconds before the first reconnection after a dropped connection, doubled at each
   * further one in a row up to `maxRetryMs` (default: the server's `retry`, at least 100, else 500)
   */
  readonly retryMs?: number
  /** the ceiling of the wait between reconnections, ms (default 30,000) */
  readonly maxRetryMs?: number
  /**
   * reconnections allowed in a row (default 20); a connection that stayed open `maxRetryMs`
   * ends the row
   */
  readonly maxRetries?: number
  /** the longest line or event accepted, in characters (default 2²⁶ = 67,108,864) */
  readonly maxLineLength?: number
  /** the fetch to use (default `globalThis.fetch`) */
  readonly fetch?: typeof fetch
}

/** The stream could not be read or ended with an error from the publisher. */
export class ServerSentStatesError extends Error {
  override name = 'ServerSentStatesError'
}

/**
 * Reads a run published as Server-Sent Events (by `serveStates`, `gradstream train … --serve`
 * or any program writing the wire format) and emits its frames in step order. When the
 * connection drops it reconnects, sending the last step it has as `Last-Event-ID`, and drops
 * any frame at or before that step, so a subscriber sees every published step once. It waits
 * `retryMs` before the first reconnection and twice as long before each further one in a row,
 * up to `maxRetryMs`, whatever the server's `retry:` asks. Completes on the publisher's `end`
 * event; errors on a malformed frame (the `decodeWireLine` message), on an `end` carrying an
 * error or anything but `{}` / `{"error": "…"}`, on an `event: error` (the server dropped this
 * client, e.g. for reading too slowly), on a refusal (HTTP 4xx: Host, Origin, token), on a line
 * longer than `maxLineLength`, or after `maxRetries` reconnections in a row. Lines are assembled
 * in time linear in their length. Unsubscribing aborts the request. Works in browsers and in
 * Node ≥ 18 (fetch + streams).
 *
 * @example
 * ```ts
 * import { lastValueFrom, toArray } from 'rxjs'
 * import { encodeWireLine, fromServerSentStates, ServerSentStatesError } from 'gradstream'
 *
 * // what `serveStates` (or `gradstream train … --serve`) sends: a wire frame per event, then `end`
 * const base = { v: 1, lr: 0.1, gradNorm: 1, evaluations: 1, metrics: {}, hyper: {} } as const
 * const frame = (step: number, loss: number) => encodeWireLine({ ...base, step, loss })
 * const events = (end: string) =>
 *   `data: ${frame(0, 0.9)}\n\ndata: ${frame(1, 0.5)}\n\nevent: end\ndata: ${end}\n\n`
 * // a canned server for this example; leave `fetch` out to use the real one
 * const fakeServer = (end: string) => async () => new Response(events(end))
 *
 * const url = 'http://127.0.0.1:8080/events'
 * const frames = await lastValueFrom(
 *   fromServerSentStates(url, { fetch: fakeServer('{}') }).pipe(toArray()),
 * )
 * console.log(frames.map((f) => [f.step, f.loss])) // → [ [ 0, 0.9 ], [ 1, 0.5 ] ]
 * try {
 *   await lastValueFrom(fromServerSentStates(url, { fetch: fakeServer('{"error":"NaN loss"}') }))
 * } catch (e) {
 *   if (e instanceof ServerSentStatesError) console.log(e.message)
 *   // → fromServerSentStates: the run failed: NaN loss
 * }
 * ```
 * @throws {RangeError} `fromServerSentStates: retryMs: expected a non-negative finite number, got -1`
 * @throws {RangeError} `fromServerSentStates: maxRetryMs: expected a positive finite number, got 0`
 * @see serveStates, decodeWireLine
 */
export function fromServerSentStates(
  url: string | URL,
  options: ServerSentStatesOptions = {},
): Observable<WireFrame> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`fromServerSentStates: options: expected an object, got ${show(options)}`)
  }
  if (options.retryMs !== undefined) {
    expectNonNegative('fromServerSentStates', 'retryMs', options.retryMs)
  }
  const maxRetries = options.maxRetries ?? 20
  expectInteger('fromServerSentStates', 'maxRetries', maxRetries, 0)
  const maxRetryMs = options.maxRetryMs ?? 30_000
  expectPositive('fromServerSentStates', 'maxRetryMs', maxRetryMs)
  const maxLine = options.maxLineLength ?? 2 ** 26
  expectInteger('fromServerSentStates', 'maxLineLength', maxLine, 1)
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)

  return new Observable<WireFrame>((subscriber) => {
    let last = -1
    let serverRetry: number | null = null
    let failures = 0
    let controller: AbortController | null = null
    let timer: ReturnType<typeof setTimeout> | null = null
    let stopped = false
    const fail = (message: string) => subscriber.error(new ServerSentStatesError(message))

    const connect = async () => {
      controller = new AbortController()
      const target = new URL(
        String(url),
        (globalThis as { location?: { href: string } }).location?.href,
      )
      if (last >= 0) target.searchParams.set('after', String(last))
      const opened = Date.now()
      let ended = false
      try {
        const res = await doFetch(target, {
          headers:
            last >= 0
              ? { Accept: 'text/event-stream', 'Last-Event-ID': String(last) }
              : { Accept: 'text/event-stream' },
          signal: controller.signal,
          cache: 'no-store',
        })
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
          // refused (Host, Origin, token, path): asking again will not help
          ended = true
          const text = (await res.text().catch(() => '')).trim()
          fail(
            `fromServerSentStates: url: expected an event stream, got HTTP ${res.status}${text ? ` (${describe(text)})` : ''} from ${String(url)}`,
          )
          return
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        const lines = new LineSplitter(maxLine)
        let event = { name: '', data: [] as string[], size: 0 }
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          for (const line of lines.push(value)) {
            if (line === '') {
              // dispatch
              if (event.name === 'end' || event.name === 'error') {
                ended = true
                controller.abort()
                const error = endError(event.data.join('\n'), event.name)
                if (error === undefined) subscriber.complete()
                else fail(error)
                return
              }
              if (event.data.length > 0 && (event.name === '' || event.name === 'state')) {
                const frame = decodeWireLine(event.data.join('\n'))
                if (frame.step > last) {
                  last = frame.step
                  subscriber.next(frame)
                }
              }
              event = { name: '', data: [], size: 0 }
              continue
            }
            if (line.startsWith(':')) continue
            const colon = line.indexOf(':')
            const field = colon < 0 ? line : line.slice(0, colon)
            let v = colon < 0 ? '' : line.slice(colon + 1)
            if (v.startsWith(' ')) v = v.slice(1)
            if (field === 'data') {
              event.size += v.length + 1
              if (event.size > maxLine) {
                throw new RangeError(
                  `line: expected at most ${maxLine} characters, got a longer event`,
                )
              }
              event.data.push(v)
            } else if (field === 'event') event.name = v
            else if (field === 'retry' && /^\d{1,9}$/.test(v)) serverRetry = Number(v)
          }
        }
      } catch (e) {
        if (stopped || ended) return
        if (e instanceof TypeError && e.message.startsWith('decodeWireLine:')) {
          subscriber.error(e)
          return
        }
        if (e instanceof RangeError && e.message.startsWith('line:')) {
          subscriber.error(new RangeError(`fromServerSentStates: ${e.message}`))
          return
        }
      }
      if (stopped || ended) return
      // a connection that stayed up for the ceiling was healthy: the count starts again
      failures = Date.now() - opened >= maxRetryMs ? 1 : failures + 1
      if (failures > maxRetries) {
        fail(
          `fromServerSentStates: url: expected a reachable event stream, got ${maxRetries} failed reconnections to ${String(url)}`,
        )
        return
      }
      const base =
        options.retryMs ??
        (serverRetry === null ? 500 : Math.min(Math.max(serverRetry, MIN_SERVER_RETRY), maxRetryMs))
      timer = setTimeout(
        () => void connect(),
        Math.min(maxRetryMs, Math.max(base, 1) * 2 ** (failures - 1)),
      )
    }
    void connect()
    return () => {
      stopped = true
      if (timer !== null) clearTimeout(timer)
      controller?.abort()
    }
  })
}

/** The least `retry:` a server may ask for (a `retry: 0` would reconnect at once, forever). */
const MIN_SERVER_RETRY = 100

/**
 * The error an `end` (or `error`) event's data reports, or undefined for a clean end: the data
 * must be `{}` or `{"error": "<message>"}` (empty data is a clean end too).
 */
function endError(body: string, name: 'end' | 'error'): string | undefined {
  let parsed: unknown = undefined
  try {
    parsed = body === '' ? {} : JSON.parse(body)
  } catch {
    // reported below
  }
  const error =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as { error?: unknown }).error
      : null
  if (error === null || (error !== undefined && typeof error !== 'string')) {
    return `fromServerSentStates: ${name}: expected {} or {"error": "<message>"}, got ${describe(body)}`
  }
  if (name === 'error')
    return `fromServerSentStates: the server ended this stream: ${error ?? 'no reason given'}`
  return error === undefined || error === ''
    ? undefined
    : `fromServerSentStates: the run failed: ${error}`
}
