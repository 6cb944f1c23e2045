import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Observable, Subscription } from 'rxjs'
import { expectInteger } from '../errors.js'
import { encodeWireLine, type WireFrame } from '../state/wireFormat.js'

/** Options of `serveStates`. */
export interface ServeStatesOptions {
  /** TCP port, 0 for any free one (default 0) */
  readonly port?: number
  /** interface to listen on (default `127.0.0.1`: loopback only; `0.0.0.0` exposes the run) */
  readonly host?: string
  /** frames kept for clients that reconnect or arrive late (default 100,000, oldest dropped) */
  readonly keep?: number
  /** milliseconds to keep serving after the run ends, for late clients (default 0) */
  readonly linger?: number
}

/** A running state server. */
export interface StateServer {
  /** `http://host:port/events`, the Server-Sent Events stream */
  readonly url: string
  readonly port: number
  /** Resolves when the run has ended, every client has been told and the server is closed. */
  readonly closed: Promise<void>
  /** Stops at once: ends every client's stream, stops listening, unsubscribes the run. */
  close(): Promise<void>
}

/**
 * Serves a run's frames as Server-Sent Events on `GET /events`: each frame is one event with
 * `id: <step>`, `event: state` and the frame's wire-format line as `data`; the end of the run is
 * an `event: end`. A client that reconnects with `Last-Event-ID: <step>` (or `?after=<step>`)
 * gets every kept frame after that step and then the live ones, so it neither misses nor
 * repeats a step. The run is subscribed at once (clients watch it, they do not drive it).
 * CORS is open (`Access-Control-Allow-Origin: *`) so a page on another port can plot it; it
 * listens on loopback unless told otherwise. Node only (node:http). The run is subscribed at
 * once, before the server listens: a cold run starts, a hot one is not missed.
 *
 * @example
 * ```ts
 * import { map, pipe } from 'rxjs'
 * import { tensor, toWireFrame, train } from 'gradstream'
 * import { serveStates } from 'gradstream/node'
 * import { centralDifference, gradient, loss, maxSteps, perturb, update } from 'gradstream/operators'
 *
 * const run$ = train({
 *   params: tensor([-3, 4]),
 *   step: pipe(
 *     perturb(centralDifference()),
 *     loss((x) => x.data[0] ** 2 + x.data[1] ** 2),
 *     gradient(),
 *     update(0.1),
 *   ),
 * }).pipe(maxSteps(100))
 * const server = await serveStates(run$.pipe(map((s) => toWireFrame(s))))
 * console.log(server.url.startsWith('http://127.0.0.1:')) // → true
 * await server.closed // resolves when the run has ended
 * ```
 * @throws {RangeError} `serveStates: port: expected an integer in [0, 65535], got 70000`
 * @see fromServerSentStates, toWireFrame
 */
export async function serveStates(
  frames$: Observable<WireFrame>,
  options: ServeStatesOptions = {},
): Promise<StateServer> {
  const { port = 0, host = '127.0.0.1', keep = 100_000, linger = 0 } = options
  expectInteger('serveStates', 'port', port, 0, 65535)
  expectInteger('serveStates', 'keep', keep, 1)
  expectInteger('serveStates', 'linger', linger, 0)

  const kept: { step: number; text: string }[] = []
  const clients = new Set<ServerResponse>()
  let ended: 'complete' | 'error' | null = null
  let errorText = ''
  let run: Subscription | null = null

  const eventOf = (step: number, line: string) => `id: ${step}\nevent: state\ndata: ${line}\n\n`
  const endEvent = () =>
    ended === 'error'
      ? `event: end\ndata: ${JSON.stringify({ error: errorText })}\n\n`
      : 'event: end\ndata: {}\n\n'

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'Last-Event-ID, Cache-Control',
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end()
      return
    }
    if (req.method !== 'GET' || url.pathname !== '/events') {
      res.writeHead(404, { ...cors, 'Content-Type': 'text/plain' }).end('gradstream: GET /events\n')
      return
    }
    const header = req.headers['last-event-id']
    const raw = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('after')
    const after = raw !== null && raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : -1
    res.writeHead(200, {
      ...cors,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    })
    let text = 'retry: 500\n\n'
    for (const f of kept) if (f.step > after) text += f.text
    if (ended) {
      res.end(text + endEvent())
      return
    }
    res.write(text)
    clients.add(res)
    req.on('close', () => clients.delete(res))
  })
  // a half-dead client must not keep the process alive once the run is over
  server.keepAliveTimeout = 1000

  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  let closing: Promise<void> | null = null
  const close = () => {
    if (!closing) {
      run?.unsubscribe()
      closing = new Promise<void>((resolve) => {
        for (const c of clients) c.end()
        clients.clear()
        server.close(() => resolve())
        server.closeAllConnections()
      }).then(resolveClosed)
    }
    return closing
  }
  let listening = false
  const finish = (how: 'complete' | 'error', message = '') => {
    ended = how
    errorText = message
    const end = endEvent()
    for (const c of clients) c.end(end)
    clients.clear()
    if (listening) setTimeout(() => void close(), linger)
  }

  run = frames$.subscribe({
    next: (f) => {
      const text = eventOf(f.step, encodeWireLine(f))
      kept.push({ step: f.step, text })
      if (kept.length > keep) kept.splice(0, kept.length - keep)
      for (const c of clients) c.write(text)
    },
    error: (e: unknown) => finish('error', e instanceof Error ? e.message : String(e)),
    complete: () => finish('complete'),
  })

  // the run is subscribed before the server listens, so no state is missed while it starts
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (e) {
    run.unsubscribe()
    throw e
  }
  listening = true
  if (ended) setTimeout(() => void close(), linger)
  const actual = (server.address() as AddressInfo).port

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/events`,
    port: actual,
    closed,
    close,
  }
}
