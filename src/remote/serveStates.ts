import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Observable, Subscription } from 'rxjs'
import { expectInteger, show } from '../errors.js'
import { encodeWireLine, type WireFrame } from '../state/wireFormat.js'
import { checkOrigins, hostNameOf, hostNames, isLoopback, sha256 } from './serveInternals.js'

/** Options of `serveStates`. */
export interface ServeStatesOptions {
  /** TCP port, 0 for any free one (default 0) */
  readonly port?: number
  /**
   * interface to listen on (default `127.0.0.1`: loopback only). Any other (`0.0.0.0`, a LAN
   * address) exposes the run and requires a `token`.
   */
  readonly host?: string
  /** frames kept for clients that reconnect or arrive late (default 10,000, oldest dropped) */
  readonly keep?: number
  /** milliseconds to keep serving after the run ends, for late clients (default 0) */
  readonly linger?: number
  /**
   * milliseconds between two writes to the clients that keep up (default 100; more with many
   * clients: at least 2 ms per client, so that the server makes at most 500 socket writes a
   * second however many read, e.g. every 400 ms for 200): the frames that arrive in between go
   * out together in one write, however many the run makes. A frame after a quiet spell goes out
   * at once. 0: a write every turn of the event loop that made a frame, whatever the clients.
   */
  readonly flushMs?: number
  /** `/events` clients at once (default 256); one more is answered 503 */
  readonly maxClients?: number
  /**
   * milliseconds a client may go without reading (its send buffer full) before it is dropped
   * (default 30,000)
   */
  readonly stallMs?: number
  /**
   * origins whose pages may read the stream (CORS), e.g. `http://127.0.0.1:5173`, or `'*'` for
   * any; default none: a request carrying another `Origin` is refused (403)
   */
  readonly cors?: string | readonly string[]
  /**
   * secret a client must send as `?token=…` or `Authorization: Bearer …` (401 otherwise);
   * required when `host` is not loopback
   */
  readonly token?: string
  /**
   * more names a client may use in its `Host` header (default: the listening address, the
   * loopback names and, for `0.0.0.0` / `::`, this machine's addresses and name); any other
   * Host is refused (403), which defeats DNS rebinding
   */
  readonly hosts?: readonly string[]
}

/** A running state server. */
export interface StateServer {
  /** `http://host:port/events` (with `?token=…` when a token is set), the Server-Sent Events stream */
  readonly url: string
  readonly port: number
  /** Resolves when the run has ended, every client has been told and the server is closed. */
  readonly closed: Promise<void>
  /** Stops at once: ends every client's stream, stops listening, unsubscribes the run. */
  close(): Promise<void>
  /** Clients connected to `/events`, bytes queued in this process for them, frames kept. */
  stats(): { readonly clients: number; readonly queuedBytes: number; readonly keptFrames: number }
}

/**
 * Socket writes a second the pacing allows to the clients that keep up, in all (flushMs > 0):
 * one write costs ~10 µs of CPU on loopback (half Node's stream code, half the send), up to
 * ~40 µs on a loaded machine, so this is at most 5–20 ms of the training thread a second.
 */
const WRITES_PER_SECOND = 500

/** Bytes of kept frames written to a catching-up client in one socket write. */
const BATCH_BYTES = 16 * 1024

/** One write's worth of kept frames from one frame number on, and the number after them. */
interface Batch {
  readonly bytes: Buffer | string
  readonly next: number
}

/**
 * Serves a run's frames as Server-Sent Events on `GET /events`: each frame is one event with
 * `id: <step>`, `event: state` and the frame's wire-format line as `data`; the end of the run is
 * an `event: end`. A client that reconnects with `Last-Event-ID: <step>` (or `?after=<step>`)
 * gets every kept frame after that step and then the live ones, so it neither misses nor
 * repeats a step. The run is subscribed at once (clients watch it, they do not drive it), before
 * the server listens: a cold run starts, a hot one is not missed. Node only (node:http).
 *
 * Hostile clients cost bounded memory. Frames are encoded once and kept once (the last `keep`,
 * shared by every client); each client has a cursor into them and is written to only while its
 * socket accepts data (Node's high-water mark, 16 KiB, plus one write of at most 16 KiB or one
 * frame). Writes are paced: the frames of `flushMs` (100 ms; 2 ms per client if longer) go out
 * together, encoded once into one buffer that every client at the same point in the stream is
 * given, so the clients that keep up cost at most `1000 / flushMs` socket writes a second each
 * and 500 in all, however fast the run makes frames; the others cost nothing until their socket
 * drains. A client that falls
 * behind catches up from the kept frames as it reads; one that falls more than `keep` frames
 * behind, or reads nothing for `stallMs`, is dropped with a final `event: error` saying why (no
 * frame is silently skipped). At most `maxClients` at once. A run that never yields to the event
 * loop (the default synchronous driver) is sent when it ends; serve a run in chunks (`chunked`)
 * to stream it live.
 *
 * Who may read: the `Host` header must name this server (see `hosts`); a browser page on
 * another origin only if `cors` lists it; and with a `token`, only clients that send it.
 * `GET`, `HEAD` and `OPTIONS` on `/events`; other methods 405, other paths 404.
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
 * @throws {TypeError} `serveStates: token: expected a token of at least 16 characters (host 0.0.0.0 is not loopback), got undefined`
 * @throws {TypeError} `serveStates: cors: expected origins such as "http://127.0.0.1:5173" or "*", got "127.0.0.1:5173"`
 * @see fromServerSentStates, toWireFrame
 */
export async function serveStates(
  frames$: Observable<WireFrame>,
  options: ServeStatesOptions = {},
): Promise<StateServer> {
  const {
    port = 0,
    host = '127.0.0.1',
    keep = 10_000,
    linger = 0,
    flushMs = 100,
    maxClients = 256,
    stallMs = 30_000,
    token,
    hosts = [],
  } = options
  expectInteger('serveStates', 'port', port, 0, 65535)
  expectInteger('serveStates', 'keep', keep, 1)
  expectInteger('serveStates', 'linger', linger, 0)
  expectInteger('serveStates', 'flushMs', flushMs, 0)
  expectInteger('serveStates', 'maxClients', maxClients, 1)
  expectInteger('serveStates', 'stallMs', stallMs, 1)
  const origins = checkOrigins(options.cors)
  const loopback = isLoopback(host)
  if (token !== undefined || !loopback) {
    if (typeof token !== 'string' || token.length < 16 || !/^[\x21-\x7e]+$/.test(token)) {
      const why = loopback ? '' : ` (host ${host} is not loopback)`
      throw new TypeError(
        `serveStates: token: expected a token of at least 16 characters${why}, got ${token === undefined ? 'undefined' : JSON.stringify(token)}`,
      )
    }
  }
  if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string')) {
    throw new TypeError(`serveStates: hosts: expected an array of host names, got ${show(hosts)}`)
  }
  const tokenDigest = token !== undefined ? sha256(token) : null
  const allowedHosts = hostNames(host, hosts)

  // the kept frames, a ring: frame number i (0, 1, 2, … in arrival order) is in slot i % keep
  const texts: string[] = []
  const steps = new Float64Array(keep)
  let count = 0
  const oldest = () => Math.max(0, count - keep)

  interface Client {
    readonly res: ServerResponse
    /** the number of the next frame to write */
    cursor: number
    /** when its socket last refused more data (0 while it keeps up) */
    waitingSince: number
  }
  const clients = new Set<Client>()
  /** clients that have every frame so far and whose socket accepts more */
  const live = new Set<Client>()
  let ended: 'complete' | 'error' | null = null
  let errorText = ''
  let run: Subscription | null = null

  const eventOf = (step: number, line: string) => `id: ${step}\nevent: state\ndata: ${line}\n\n`
  const endEvent = () =>
    ended === 'error'
      ? `event: end\ndata: ${JSON.stringify({ error: errorText })}\n\n`
      : 'event: end\ndata: {}\n\n'

  const remove = (c: Client) => {
    clients.delete(c)
    live.delete(c)
  }
  const drop = (c: Client, why: string) => {
    remove(c)
    c.res.end(`event: error\ndata: ${JSON.stringify({ error: `dropped: ${why}` })}\n\n`)
    // a client that does not read never takes the last event: free its socket anyway
    setTimeout(() => c.res.destroy(), 1000).unref()
  }
  const wait = (c: Client) => {
    live.delete(c)
    c.waitingSince = Date.now()
    c.res.once('drain', () => pump(c))
  }
  /** The kept frames from number `from` on, up to 16 KiB (or one frame), as one text. */
  const batchFrom = (from: number): Batch => {
    let next = from
    let text = ''
    while (next < count && text.length < BATCH_BYTES) text += texts[next++ % keep]
    return { bytes: text, next }
  }
  /**
   * Writes kept frames from the client's cursor while its socket takes them. `shared`: this
   * flush's first batch from each frame number, encoded once into a buffer that every client at
   * that point of the stream is given (all those that keep up); the further batches of a client
   * catching up are its own, short-lived texts (sharing those would hold them all at once).
   */
  const pump = (c: Client, shared?: Map<number, Batch>) => {
    if (!clients.has(c)) return
    if (c.cursor < oldest()) {
      drop(c, `this client fell more than ${keep} frames behind the run (it reads too slowly)`)
      return
    }
    let first = true
    while (c.cursor < count) {
      let batch = first ? shared?.get(c.cursor) : undefined
      if (batch === undefined) {
        batch = batchFrom(c.cursor)
        if (first && shared) {
          batch = { bytes: Buffer.from(batch.bytes), next: batch.next }
          shared.set(c.cursor, batch)
        }
      }
      first = false
      c.cursor = batch.next
      if (!c.res.write(batch.bytes)) return wait(c)
    }
    if (ended) {
      remove(c)
      c.res.end(endEvent())
      return
    }
    c.waitingSince = 0
    live.add(c)
  }

  /** First frame number whose step is after `after` (steps increase along the run). */
  const firstAfter = (after: number) => {
    let lo = oldest()
    let hi = count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (steps[mid % keep] > after) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const refuse = (status: number, text: string, headers: Record<string, string> = {}) =>
      void res
        .writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers })
        .end(`gradstream: ${text}\n`)
    const hostHeader = req.headers.host
    if (hostHeader === undefined || !allowedHosts.has(hostNameOf(hostHeader))) {
      return refuse(
        403,
        `Host ${JSON.stringify(hostHeader ?? '')} is not this server's name (add it with hosts / --allow-host)`,
      )
    }
    const origin = req.headers.origin
    const cors: Record<string, string> = {}
    if (origin !== undefined) {
      if (origins.has('*') || origins.has(origin)) {
        cors['Access-Control-Allow-Origin'] = origin
        cors.Vary = 'Origin'
      } else if (origin !== `http://${hostHeader}`) {
        return refuse(
          403,
          `pages from ${JSON.stringify(origin)} may not read this stream (allow them with cors / --cors ORIGIN)`,
        )
      }
    }
    // the request target is a path ("/events?…", even "//x", which a base URL would read as a
    // host) or, from a proxy, an absolute URL; anything that parses as neither is refused
    const target = req.url ?? '/'
    let url: URL
    try {
      url = new URL(target.startsWith('/') ? `http://localhost${target}` : target)
    } catch {
      return refuse(
        400,
        `request target ${JSON.stringify(target)} is not a path: GET /events`,
        cors,
      )
    }
    if (url.pathname !== '/events') return refuse(404, 'GET /events', cors)
    const allow = { Allow: 'GET, HEAD, OPTIONS' }
    if (req.method === 'OPTIONS') {
      const preflight =
        cors['Access-Control-Allow-Origin'] !== undefined
          ? {
              'Access-Control-Allow-Methods': 'GET, HEAD',
              'Access-Control-Allow-Headers': 'Authorization, Cache-Control, Last-Event-ID',
              'Access-Control-Max-Age': '600',
            }
          : {}
      res.writeHead(204, { ...allow, ...cors, ...preflight }).end()
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(405, `${req.method} not allowed: GET /events`, { ...allow, ...cors })
    }
    if (tokenDigest !== null) {
      const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')
      const given = auth?.[1] ?? url.searchParams.get('token')
      if (given === null || !timingSafeEqual(sha256(given), tokenDigest)) {
        return refuse(401, 'a token is required (?token=… or Authorization: Bearer …)', {
          ...cors,
          'WWW-Authenticate': 'Bearer',
        })
      }
    }
    const head = {
      ...cors,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, head).end()
      return
    }
    if (clients.size >= maxClients) {
      return refuse(503, `already serving ${maxClients} clients`, { ...cors, 'Retry-After': '5' })
    }
    const header = req.headers['last-event-id']
    const raw = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('after')
    const after = raw !== null && raw !== undefined && /^\d{1,15}$/.test(raw) ? Number(raw) : -1
    res.writeHead(200, { ...head, Connection: 'keep-alive' })
    res.write('retry: 500\n\n')
    const c: Client = { res, cursor: firstAfter(after), waitingSince: 0 }
    clients.add(c)
    req.on('close', () => remove(c))
    res.on('close', () => remove(c)) // the socket went away, whichever side Node reports it on
    pump(c)
  })
  // a half-dead client must not keep the process alive once the run is over
  server.keepAliveTimeout = 1000
  // beyond the clients, a few connections for refusals and HEAD; the rest are not accepted
  server.maxConnections = maxClients + 16

  // clients that read nothing for stallMs, or fell behind the kept frames, are dropped
  const sweeper = setInterval(
    () => {
      const now = Date.now()
      for (const c of clients) {
        if (live.has(c)) continue
        if (c.cursor < oldest()) pump(c)
        else if (c.waitingSince > 0 && now - c.waitingSince > stallMs) {
          drop(c, `this client read nothing for ${stallMs} ms`)
        }
      }
    },
    Math.min(1000, stallMs),
  )
  sweeper.unref()

  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  let closing: Promise<void> | null = null
  const close = () => {
    if (!closing) {
      clearInterval(sweeper)
      run?.unsubscribe()
      closing = new Promise<void>((resolve) => {
        for (const c of clients) c.res.end()
        clients.clear()
        live.clear()
        server.close(() => resolve())
        server.closeAllConnections()
      }).then(resolveClosed)
    }
    return closing
  }
  let listening = false
  let flushing = false
  let flushedAt = -Infinity
  /** Writes the frames since the last flush to every client that keeps up. */
  const flush = () => {
    flushing = false
    flushedAt = performance.now()
    const shared = new Map<number, Batch>()
    // pump only removes the client it is given from `live`, which a Set's iteration allows
    for (const c of live) pump(c, shared)
  }
  /**
   * A flush once `flushMs` (or 2 ms per client that keeps up, if more) have gone by since the
   * last one; at the next turn if they have.
   */
  const scheduleFlush = () => {
    if (flushing) return
    flushing = true
    const every = flushMs === 0 ? 0 : Math.max(flushMs, (1000 * live.size) / WRITES_PER_SECOND)
    const wait = flushedAt + every - performance.now()
    if (wait <= 0) setImmediate(flush)
    // unref: the listening server keeps the process alive; once it is closed nothing is owed
    else setTimeout(flush, wait).unref()
  }
  const finish = (how: 'complete' | 'error', message = '') => {
    ended = how
    errorText = message
    // the clients that keep up get the last frames and the end now; the others once they
    // have read the frames before it (pump, on drain)
    flush()
    if (listening) setTimeout(() => void close(), linger)
  }

  run = frames$.subscribe({
    next: (f) => {
      const text = eventOf(f.step, encodeWireLine(f))
      texts[count % keep] = text
      steps[count % keep] = f.step
      count++
      // one write per client for all the frames until the next flush, not one per frame
      scheduleFlush()
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
    clearInterval(sweeper)
    run.unsubscribe()
    throw e
  }
  listening = true
  if (ended) setTimeout(() => void close(), linger)
  const actual = (server.address() as AddressInfo).port
  const query = token !== undefined ? `?token=${encodeURIComponent(token)}` : ''

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/events${query}`,
    port: actual,
    closed,
    close,
    stats: () => {
      let queuedBytes = 0
      for (const c of clients) queuedBytes += c.res.writableLength
      return { clients: clients.size, queuedBytes, keptFrames: count - oldest() }
    },
  }
}
