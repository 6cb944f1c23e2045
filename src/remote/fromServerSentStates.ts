import { Observable } from 'rxjs'
import { expectInteger, expectNonNegative } from '../errors.js'
import { decodeWireLine, type WireFrame } from '../state/wireFormat.js'

/** Options of `fromServerSentStates`. */
export interface ServerSentStatesOptions {
  /** milliseconds before reconnecting after a dropped connection (default: the server's `retry`, else 500) */
  readonly retryMs?: number
  /** reconnections allowed in a row without receiving a frame (default 20) */
  readonly maxRetries?: number
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
 * any frame at or before that step, so a subscriber sees every published step once. Completes
 * on the publisher's `end` event; errors on a malformed frame (the `decodeWireLine` message), on
 * an `end` carrying an error, or after `maxRetries` failed reconnections. Unsubscribing aborts
 * the request. Works in browsers and in Node ≥ 18 (fetch + streams).
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
 * @see serveStates, decodeWireLine
 */
export function fromServerSentStates(
  url: string | URL,
  options: ServerSentStatesOptions = {},
): Observable<WireFrame> {
  if (options.retryMs !== undefined) {
    expectNonNegative('fromServerSentStates', 'retryMs', options.retryMs)
  }
  const maxRetries = options.maxRetries ?? 20
  expectInteger('fromServerSentStates', 'maxRetries', maxRetries, 0)
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)

  return new Observable<WireFrame>((subscriber) => {
    let last = -1
    let retry = options.retryMs ?? 500
    let failures = 0
    let controller: AbortController | null = null
    let timer: ReturnType<typeof setTimeout> | null = null
    let stopped = false

    const connect = async () => {
      controller = new AbortController()
      const target = new URL(
        String(url),
        (globalThis as { location?: { href: string } }).location?.href,
      )
      if (last >= 0) target.searchParams.set('after', String(last))
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
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        let event = { id: '', name: '', data: [] as string[] }
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let nl: number
          while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
            const line = buffer.slice(0, nl)
            buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1))
            if (line === '') {
              // dispatch
              if (event.name === 'end') {
                ended = true
                const body = event.data.join('\n')
                const err = body ? (JSON.parse(body) as { error?: string }).error : undefined
                if (err)
                  subscriber.error(
                    new ServerSentStatesError(`fromServerSentStates: the run failed: ${err}`),
                  )
                else subscriber.complete()
                controller.abort()
                return
              }
              if (event.data.length > 0 && (event.name === '' || event.name === 'state')) {
                const frame = decodeWireLine(event.data.join('\n'))
                if (frame.step > last) {
                  last = frame.step
                  failures = 0
                  subscriber.next(frame)
                }
              }
              event = { id: '', name: '', data: [] }
              continue
            }
            if (line.startsWith(':')) continue
            const colon = line.indexOf(':')
            const field = colon < 0 ? line : line.slice(0, colon)
            let v = colon < 0 ? '' : line.slice(colon + 1)
            if (v.startsWith(' ')) v = v.slice(1)
            if (field === 'data') event.data.push(v)
            else if (field === 'event') event.name = v
            else if (field === 'id') event.id = v
            else if (field === 'retry' && /^\d+$/.test(v) && options.retryMs === undefined)
              retry = Number(v)
          }
        }
      } catch (e) {
        if (stopped || ended) return
        if (e instanceof TypeError && e.message.startsWith('decodeWireLine:')) {
          subscriber.error(e)
          return
        }
      }
      if (stopped || ended) return
      failures++
      if (failures > maxRetries) {
        subscriber.error(
          new ServerSentStatesError(
            `fromServerSentStates: url: expected a reachable event stream, got ${maxRetries} failed reconnections to ${String(url)}`,
          ),
        )
        return
      }
      timer = setTimeout(() => void connect(), retry)
    }
    void connect()
    return () => {
      stopped = true
      if (timer !== null) clearTimeout(timer)
      controller?.abort()
    }
  })
}
