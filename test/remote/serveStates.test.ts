import { spawn } from 'node:child_process'
import { ServerResponse, request, type IncomingHttpHeaders } from 'node:http'
import { connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Subject, lastValueFrom, toArray } from 'rxjs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  fromServerSentStates,
  ServerSentStatesError,
} from '../../src/remote/fromServerSentStates.js'
import { serveStates, type StateServer } from '../../src/remote/serveStates.js'
import type { WireFrame } from '../../src/state/wireFormat.js'
import { tensor } from '../../src/tensor/tensor.js'

// Issue 20: the server behind `--serve` under hostile clients, all on loopback.

const root = fileURLToPath(new URL('../..', import.meta.url))
const servers: StateServer[] = []
const sockets: Socket[] = []
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy())
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const frame = (step: number, params?: WireFrame['params']): WireFrame => ({
  v: 1,
  step,
  loss: 1 / (step + 1),
  lr: 0.1,
  gradNorm: 1,
  evaluations: step,
  metrics: {},
  hyper: {},
  ...(params !== undefined ? { params } : {}),
})

async function start(options: Parameters<typeof serveStates>[1] = {}) {
  const frames$ = new Subject<WireFrame>()
  const server = await serveStates(frames$, options)
  servers.push(server)
  return { frames$, server }
}

interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** One request; an event stream is read until `until` appears in it (or it ends). */
function ask(
  server: StateServer,
  opts: { method?: string; path?: string; headers?: Record<string, string>; until?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/events',
        headers: opts.headers ?? {},
      },
      (res) => {
        let body = ''
        const done = () => resolve({ status: res.statusCode!, headers: res.headers, body })
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          body += d
          if (opts.until !== undefined && body.includes(opts.until)) {
            done()
            res.destroy()
          }
        })
        res.on('end', done)
        res.on('close', done)
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** A raw client: sends `GET /events`, then reads only when told to. */
function rawClient(port: number, extra = ''): Promise<{ socket: Socket; text: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    sockets.push(socket)
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => (text += d))
    socket.on('error', () => {})
    socket.once('connect', () => {
      socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`)
      resolve({ socket, text: () => text })
    })
    socket.once('error', reject)
  })
}

/** Waits (a bounded number of 10 ms ticks) until `ok()` holds. */
async function until(ok: () => boolean, what: string, ticks = 1000) {
  for (let i = 0; i < ticks && !ok(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!ok()) throw new Error(`gave up waiting: ${what}`)
}

describe('serveStates: who may read', () => {
  it('refuses a foreign Host (DNS rebinding) and accepts its own names and those added', async () => {
    const { server } = await start({ hosts: ['gpu-box.lan'] })
    const evil = await ask(server, { headers: { Host: `evil.example:${server.port}` } })
    expect(evil.status).toBe(403)
    expect(evil.body).toBe(
      `gradstream: Host "evil.example:${server.port}" is not this server's name (add it with hosts / --allow-host)\n`,
    )
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'GPU-box.lan']) {
      const ok = await ask(server, { method: 'HEAD', headers: { Host: host } })
      expect(ok.status, host).toBe(200)
    }
  })

  it('sends no CORS header by default and refuses a page from another origin', async () => {
    const { server } = await start()
    const page = await ask(server, { headers: { Origin: 'http://evil.example' } })
    expect(page.status).toBe(403)
    expect(page.headers['access-control-allow-origin']).toBeUndefined()
    expect(page.body).toBe(
      'gradstream: pages from "http://evil.example" may not read this stream (allow them with cors / --cors ORIGIN)\n',
    )
    const plain = await ask(server, { method: 'HEAD' })
    expect(plain.status).toBe(200)
    expect(plain.headers['access-control-allow-origin']).toBeUndefined()
    const preflight = await ask(server, {
      method: 'OPTIONS',
      headers: { Origin: `http://127.0.0.1:${server.port}` },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('cors: the named origin reads the stream (preflight included); others still do not', async () => {
    const site = 'http://127.0.0.1:5173'
    const { frames$, server } = await start({ cors: site })
    frames$.next(frame(0))
    const got = await ask(server, { headers: { Origin: site }, until: 'id: 0' })
    expect(got.status).toBe(200)
    expect(got.headers['access-control-allow-origin']).toBe(site)
    expect(got.headers.vary).toBe('Origin')
    const pre = await ask(server, {
      method: 'OPTIONS',
      headers: { Origin: site, 'Access-Control-Request-Headers': 'last-event-id' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers['access-control-allow-origin']).toBe(site)
    expect(pre.headers['access-control-allow-headers']).toBe(
      'Authorization, Cache-Control, Last-Event-ID',
    )
    expect((await ask(server, { headers: { Origin: 'http://127.0.0.1:5174' } })).status).toBe(403)
    await expect(serveStates(new Subject(), { cors: '127.0.0.1:5173' })).rejects.toThrow(
      new TypeError(
        'serveStates: cors: expected origins such as "http://127.0.0.1:5173" or "*", got "127.0.0.1:5173"',
      ),
    )
  })

  it('refuses to bind beyond loopback without a token (before listening)', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20']) {
      await expect(serveStates(new Subject(), { host })).rejects.toThrow(
        new TypeError(
          `serveStates: token: expected a token of at least 16 characters (host ${host} is not loopback), got undefined`,
        ),
      )
    }
    await expect(serveStates(new Subject(), { host: '0.0.0.0', token: 'short' })).rejects.toThrow(
      new TypeError(
        'serveStates: token: expected a token of at least 16 characters (host 0.0.0.0 is not loopback), got "short"',
      ),
    )
  })

  it('token: required as ?token= or a Bearer header; the url carries it', async () => {
    const token = 'a-long-secret-token-1234'
    const { frames$, server } = await start({ token, linger: 5000 })
    frames$.next(frame(0))
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/events?token=${token}`)
    const none = await ask(server)
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toBe('Bearer')
    expect((await ask(server, { path: '/events?token=wrong' })).status).toBe(401)
    expect((await ask(server, { path: `/events?token=${token}`, until: 'id: 0' })).status).toBe(200)
    const bearer = await ask(server, {
      headers: { Authorization: `Bearer ${token}` },
      until: 'id: 0',
    })
    expect(bearer.status).toBe(200)
    frames$.complete()
    const frames = await lastValueFrom(fromServerSentStates(server.url).pipe(toArray()))
    expect(frames.map((f) => f.step)).toEqual([0])
  })
})

describe('serveStates: methods', () => {
  it('HEAD /events: 200 with the stream headers and no body; OPTIONS 204; POST 405; other paths 404', async () => {
    const { server } = await start()
    const head = await ask(server, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(head.body).toBe('')
    expect(server.stats().clients).toBe(0)
    const options = await ask(server, { method: 'OPTIONS' })
    expect([options.status, options.headers.allow]).toEqual([204, 'GET, HEAD, OPTIONS'])
    const post = await ask(server, { method: 'POST' })
    expect([post.status, post.headers.allow, post.body]).toEqual([
      405,
      'GET, HEAD, OPTIONS',
      'gradstream: POST not allowed: GET /events\n',
    ])
    expect((await ask(server, { path: '/other' })).status).toBe(404)
    // a path that starts with "//" is a path, not a host: answered, and the server keeps serving
    expect((await ask(server, { path: '//' })).status).toBe(404)
    expect((await ask(server, { path: '//127.0.0.1/events' })).status).toBe(404)
    expect((await ask(server, { method: 'HEAD' })).status).toBe(200)
  })
})

describe('serveStates: bounded cost per client', () => {
  it('refuses the client beyond maxClients with 503, and takes one again when a slot frees', async () => {
    const { server } = await start({ maxClients: 3 })
    const held = await Promise.all([0, 1, 2].map(() => rawClient(server.port)))
    await until(() => server.stats().clients === 3, '3 clients')
    const fourth = await ask(server)
    expect([fourth.status, fourth.headers['retry-after'], fourth.body]).toEqual([
      503,
      '5',
      'gradstream: already serving 3 clients\n',
    ])
    held[0].socket.destroy()
    await until(() => server.stats().clients === 2, 'a slot to free')
    expect((await ask(server, { until: 'retry: 500' })).status).toBe(200)
  })

  it('costs one socket write per client per event-loop turn, however many frames the turn made', async () => {
    const { frames$, server } = await start()
    const held = await Promise.all([0, 1, 2, 3, 4].map(() => rawClient(server.port)))
    await until(() => held.every((c) => c.text().includes('retry: 500')), 'the streams to open')
    const writes = vi.spyOn(ServerResponse.prototype, 'write')
    try {
      // one synchronous burst of 50 frames (~8 KB: under the 16 KiB of one write)
      for (let k = 0; k < 50; k++) frames$.next(frame(k))
      await new Promise((r) => setImmediate(r))
      // the old server: 50 frames × 5 clients = 250 writes
      expect(writes).toHaveBeenCalledTimes(5)
      // encoded once: every client is given the same buffer
      const given = writes.mock.calls.map((call) => call[0])
      expect(given[0]).toBeInstanceOf(Buffer)
      expect(given.every((b) => b === given[0])).toBe(true)
    } finally {
      writes.mockRestore()
    }
    await until(() => held.every((c) => c.text().includes('id: 49\n')), 'every frame to arrive')
    for (const c of held) {
      const ids = [...c.text().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
      expect(ids).toEqual(Array.from({ length: 50 }, (_, k) => k))
    }
  })

  it('paces writes: the frames of several turns within flushMs go to each client in one write', async () => {
    // flushMs of a minute: nothing below can take that long, so which writes happen is fixed
    const { frames$, server } = await start({ flushMs: 60_000 })
    const held = await Promise.all([0, 1, 2].map(() => rawClient(server.port)))
    await until(() => held.every((c) => c.text().includes('retry: 500')), 'the streams to open')
    const writes = vi.spyOn(ServerResponse.prototype, 'write')
    try {
      frames$.next(frame(0)) // after a quiet spell: out at the next turn
      await new Promise((r) => setImmediate(r))
      expect(writes).toHaveBeenCalledTimes(3)
      for (let k = 1; k < 50; k++) {
        frames$.next(frame(k)) // one frame a turn, 49 turns, all within flushMs
        await new Promise((r) => setImmediate(r))
      }
      // the server of session 5 wrote once per turn: 50 × 3 = 150 writes
      expect(writes).toHaveBeenCalledTimes(3)
      frames$.complete() // the end flushes at once: frames 1 … 49 in one write, then the end
      await until(() => held.every((c) => c.text().includes('event: end')), 'the end')
      expect(writes).toHaveBeenCalledTimes(6)
    } finally {
      writes.mockRestore()
    }
    for (const c of held) {
      const ids = [...c.text().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
      expect(ids).toEqual(Array.from({ length: 50 }, (_, k) => k))
    }
  })

  it('paces writes by the number of clients too: 2 ms per client, 500 socket writes a second in all', async () => {
    const { frames$, server } = await start({ flushMs: 1 })
    const held = await Promise.all(Array.from({ length: 20 }, () => rawClient(server.port)))
    await until(() => held.every((c) => c.text().includes('retry: 500')), 'the streams to open')
    // the pacing's clock and timer only: the sockets run on Node's own
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    const writes = vi.spyOn(ServerResponse.prototype, 'write')
    try {
      frames$.next(frame(0)) // after a quiet spell: out at the next turn
      await new Promise((r) => setImmediate(r))
      expect(writes).toHaveBeenCalledTimes(20)
      frames$.next(frame(1)) // 20 clients: the next write 20 × 2 = 40 ms after (not flushMs, 1)
      await vi.advanceTimersByTimeAsync(39)
      expect(writes).toHaveBeenCalledTimes(20)
      await vi.advanceTimersByTimeAsync(1)
      expect(writes).toHaveBeenCalledTimes(40)
    } finally {
      writes.mockRestore()
      vi.useRealTimers()
    }
    await until(() => held.every((c) => c.text().includes('id: 1\n')), 'frame 1 to arrive')
  })

  it('replays only the kept frames, in order, after Last-Event-ID', async () => {
    const { frames$, server } = await start({ keep: 100 })
    for (let k = 0; k < 250; k++) frames$.next(frame(k))
    expect(server.stats().keptFrames).toBe(100)
    const late = await ask(server, { headers: { 'Last-Event-ID': '199' }, until: 'id: 249\n' })
    const ids = [...late.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => 200 + i))
    const all = await ask(server, { until: 'id: 249\n' })
    const first = [...all.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    expect(first).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i))
  })

  it('a client that stops reading is written to only up to its socket buffer, then dropped with an event: error once it falls behind the kept frames', async () => {
    // frames of ~110 KB (10,000 doubles in base64): 60 of them are far more than the loopback
    // socket buffers hold, so the server must stop writing to this client
    const big = tensor(Array.from({ length: 10_000 }, (_, i) => i / 7))
    // flushMs 0: a write every turn, so that this loop fills the socket in few frames
    const { frames$, server } = await start({ keep: 20, flushMs: 0 })
    const client = await rawClient(server.port)
    await until(() => client.text().includes('retry: 500'), 'the stream to open')
    client.socket.pause()
    let k = 0
    for (; k < 60 && server.stats().queuedBytes === 0; k++) {
      frames$.next(frame(k, big))
      await new Promise((r) => setImmediate(r))
    }
    expect(server.stats().queuedBytes).toBeGreaterThan(0) // it is waiting for the client
    const frameBytes = 110_000
    for (const end = k + 60; k < end; k++) frames$.next(frame(k, big))
    // one write past the high-water mark (16 KiB) at most: a frame, or a 16 KiB batch
    expect(server.stats().queuedBytes).toBeLessThan(16 * 1024 + frameBytes + 1024)
    client.socket.resume()
    await until(() => client.socket.readableEnded || client.text().includes('event: error'), 'end')
    await until(() => client.text().includes('\n\n', client.text().indexOf('event: error')), 'data')
    expect(client.text()).toContain(
      'event: error\ndata: {"error":"dropped: this client fell more than 20 frames behind the run (it reads too slowly)"}\n\n',
    )
    // what it did get before the drop has no gap
    const ids = [...client.text().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i))
    expect(server.stats().clients).toBe(0)
  })

  it('a client that reads nothing for stallMs is dropped (its slot freed)', async () => {
    const big = tensor(Array.from({ length: 10_000 }, (_, i) => i / 7))
    const { frames$, server } = await start({ stallMs: 200, flushMs: 0 })
    const client = await rawClient(server.port)
    await until(() => client.text().includes('retry: 500'), 'the stream to open')
    client.socket.pause()
    for (let k = 0; k < 200 && server.stats().queuedBytes === 0; k++) {
      frames$.next(frame(k, big))
      await new Promise((r) => setImmediate(r))
    }
    expect(server.stats().clients).toBe(1)
    await until(() => server.stats().clients === 0, 'the stalled client to be dropped')
  })

  it('fromServerSentStates reports a drop as an error naming why', async () => {
    const { frames$, server } = await start({ keep: 5 })
    for (let k = 0; k < 3; k++) frames$.next(frame(k))
    // a subscriber so slow to start reading that it is dropped is hard to stage through fetch:
    // the wire event is what matters, and the client's reading of it
    const body =
      'retry: 500\n\nevent: error\ndata: {"error":"dropped: this client read nothing for 30000 ms"}\n\n'
    const fake = async () => new Response(body)
    await expect(lastValueFrom(fromServerSentStates(server.url, { fetch: fake }))).rejects.toThrow(
      new ServerSentStatesError(
        'fromServerSentStates: the server ended this stream: dropped: this client read nothing for 30000 ms',
      ),
    )
  })

  it('RSS stays bounded with 200 clients that never read (child process, measured)', async () => {
    const clients = 200
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'test/remote/fixtures/floodServer.ts', String(clients)],
      { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
    )
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
      const first = (await lines.next()).value as string
      const port = Number(new URL(first.replace('serving ', '')).port)
      const held = await Promise.all(Array.from({ length: clients }, () => rawClient(port)))
      held.forEach((c) => c.socket.pause())
      const frames = 10_000
      child.stdin!.write(`go ${frames}\n`)
      const report = JSON.parse((await lines.next()).value as string) as {
        rss0: number
        rss1: number
        frameChars: number
        stats: { clients: number; queuedBytes: number; keptFrames: number }
      }
      child.stdin!.end()
      // Each never-reading client is owed frames × frameChars ≈ 8.7 MB. The old server wrote it
      // all to every socket: the kernel takes ~4 MB per loopback socket (tcp_wmem's ceiling),
      // the rest (~4.5 MB × 200 ≈ 900 MB) stayed in this process. Bounded: the kept frames once (one-byte strings: frameChars bytes each,
      // twice for the array of their texts' headers and growth) + per client one high-water
      // mark (16 KiB) and one write past it (≤ 16 KiB or one frame) + 48 MB for the heap's
      // own growth and fragmentation.
      const perClient = 16 * 1024 + Math.max(16 * 1024, report.frameChars)
      const bound = 2 * frames * report.frameChars + clients * perClient + 48 * 2 ** 20
      const grew = report.rss1 - report.rss0
      console.log(
        `200 non-reading clients, ${frames} frames of ${report.frameChars} chars: RSS ${(report.rss0 / 2 ** 20).toFixed(0)} → ${(report.rss1 / 2 ** 20).toFixed(0)} MB (+${(grew / 2 ** 20).toFixed(1)} MB, bound ${(bound / 2 ** 20).toFixed(1)} MB), queued ${(report.stats.queuedBytes / 2 ** 20).toFixed(2)} MB`,
      )
      expect(report.stats.clients).toBe(clients)
      expect(report.stats.queuedBytes).toBeLessThanOrEqual(clients * perClient)
      expect(grew).toBeLessThan(bound)
    } finally {
      child.kill()
    }
  }, 60_000)
})
