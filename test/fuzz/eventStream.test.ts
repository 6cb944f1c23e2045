import fc from 'fast-check'
import { connect } from 'node:net'
import { Subject, lastValueFrom, toArray } from 'rxjs'
import { afterAll, beforeAll, describe as group, expect, it } from 'vitest'
import { LineSplitter } from '../../src/remote/eventStreamInternals.js'
import { fromServerSentStates } from '../../src/remote/fromServerSentStates.js'
import { serveStates, type StateServer } from '../../src/remote/serveStates.js'
import { encodeWireLine, type WireFrame } from '../../src/state/wireFormat.js'
import { hostileJson } from './jsonArbitraries.js'

// Issue 20: the live stream's two ends fed hostile input. The client's line assembly under any
// chunking, the client against any body a server could send, the server against any request
// line and headers a client could send.

const frame = (step: number): WireFrame => ({
  v: 1,
  step,
  loss: 1,
  lr: 0.1,
  gradNorm: 1,
  evaluations: step,
  metrics: {},
  hyper: {},
})

/** Text of a, CR and LF, cut into chunks at arbitrary places. */
const chunkedText = fc
  .array(fc.constantFrom('a', 'b', '\r', '\n', '\r\n'), { maxLength: 60 })
  .map((parts) => parts.join(''))
  .chain((text) =>
    fc.uniqueArray(fc.nat({ max: Math.max(0, text.length) }), { maxLength: 8 }).map((cuts) => {
      const at = [0, ...cuts.sort((x, y) => x - y), text.length]
      return { text, chunks: at.slice(1).map((end, i) => text.slice(at[i], end)) }
    }),
  )

group('fuzz: fromServerSentStates line assembly', () => {
  it('splits any chunking of any text as one split of the whole text does, each character examined once', () => {
    fc.assert(
      fc.property(chunkedText, ({ text, chunks }) => {
        const split = new LineSplitter(1000)
        const got = chunks.flatMap((c) => split.push(c))
        // the reference: every line ended by CRLF, CR or LF; an unterminated tail is no line
        const whole = text.split(/\r\n|\r|\n/)
        expect(got).toEqual(whole.slice(0, -1))
        expect(split.scanned).toBe(text.length)
      }),
    )
  })
})

/** Pieces of an event stream, hostile ones included. */
const sseLine = fc.oneof(
  fc.constant(''),
  fc.constantFrom('event: end', 'event: error', 'event: state', 'event: ', ': comment', 'id: 3'),
  fc.constantFrom('retry: 0', 'retry: 99999999999', 'retry: -1', 'retry: x'),
  hostileJson.map((j) => `data: ${j}`),
  fc.nat({ max: 5 }).map((k) => `data: ${encodeWireLine(frame(k))}`),
  fc.string({ maxLength: 20 }),
)
const sseBody = fc
  .array(sseLine, { maxLength: 12 })
  .chain((lines) =>
    fc.constantFrom('\n', '\r\n', '\r').map((eol) => lines.join(eol) + (lines.length ? eol : '')),
  )

group('fuzz: fromServerSentStates against any server', () => {
  it('completes, or errors with a message naming the function, for any body (never hangs)', async () => {
    await fc.assert(
      fc.asyncProperty(sseBody, async (body) => {
        const run = fromServerSentStates('http://127.0.0.1:1/events', {
          fetch: async () => new Response(body),
          maxRetries: 0, // a body without an end is a failed connection: the error, at once
          retryMs: 0,
        })
        try {
          const frames = await lastValueFrom(run.pipe(toArray()))
          const steps = frames.map((f) => f.step)
          expect(steps).toEqual([...steps].sort((a, b) => a - b)) // in order
          expect(new Set(steps).size).toBe(steps.length) // no step twice
        } catch (e) {
          expect(e).toBeInstanceOf(Error)
          expect((e as Error).message).toMatch(/^(fromServerSentStates|decodeWireLine): /)
        }
      }),
    )
  })
})

group('fuzz: serveStates against any request', () => {
  let server: StateServer
  const frames$ = new Subject<WireFrame>()
  beforeAll(async () => {
    server = await serveStates(frames$, { maxClients: 4, token: 'fuzz-token-0123456789' })
    frames$.next(frame(0))
  })
  afterAll(() => server.close())

  /** Sends raw request text; resolves with the status code of the reply (0: none). */
  const send = (text: string) =>
    new Promise<number>((resolve) => {
      const s = connect(server.port, '127.0.0.1')
      let reply = ''
      s.setEncoding('latin1')
      s.on('connect', () => s.write(text, 'latin1'))
      s.on('data', (d: string) => {
        reply += d
        const m = /^HTTP\/1\.1 (\d{3})/.exec(reply)
        if (m) (resolve(Number(m[1])), s.destroy())
      })
      s.on('error', () => resolve(0))
      s.on('close', () => resolve(0))
    })

  const header = fc.string({ maxLength: 30, unit: 'binary-ascii' })
  const request = fc.record({
    method: fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'POST', 'DELETE', 'BREW', 'get'),
    path: fc.oneof(
      fc.constantFrom('/events', '/events?token=fuzz-token-0123456789', '/', '/events/../x', '//'),
      fc.string({ maxLength: 20 }).map((p) => `/${encodeURI(p)}`),
    ),
    host: fc.oneof(
      fc.constantFrom('127.0.0.1', 'localhost:1', '[::1]', 'evil.example', ''),
      header,
    ),
    origin: fc.option(fc.oneof(fc.constantFrom('null', 'http://evil.example'), header)),
    lastEventId: fc.option(
      fc.oneof(fc.constantFrom('-1', '1e400', '99999999999999999999'), header),
    ),
  })

  it('answers every request with a status it means, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${r.host}`]
        if (r.origin !== null) lines.push(`Origin: ${r.origin}`)
        if (r.lastEventId !== null) lines.push(`Last-Event-ID: ${r.lastEventId}`)
        const status = await send(`${lines.join('\r\n')}\r\n\r\n`)
        // 400: Node's parser refused the bytes; 0: it closed the connection without a reply
        expect([0, 200, 204, 400, 401, 403, 404, 405, 503]).toContain(status)
      }),
      { numRuns: 100 },
    )
    // still serving, and only as many clients as it should hold (the fuzzed ones are gone)
    const ok = await send(
      `HEAD /events?token=fuzz-token-0123456789 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    )
    expect(ok).toBe(200)
    for (let i = 0; i < 100 && server.stats().clients > 0; i++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(server.stats().clients).toBe(0)
  })
})
