import { lastValueFrom, toArray } from 'rxjs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LineSplitter } from '../../src/remote/eventStreamInternals.js'
import {
  fromServerSentStates,
  ServerSentStatesError,
} from '../../src/remote/fromServerSentStates.js'
import { encodeWireLine, type WireFrame } from '../../src/state/wireFormat.js'
import { tensor } from '../../src/tensor/tensor.js'

// Issue 20: fromServerSentStates against a bad server (canned responses, no network).

const url = 'http://127.0.0.1:8080/events'
const frame = (step: number): WireFrame => ({
  v: 1,
  step,
  loss: 1 / (step + 1),
  lr: 0.1,
  gradNorm: 1,
  evaluations: step,
  metrics: {},
  hyper: {},
})
const event = (f: WireFrame) => `id: ${f.step}\nevent: state\ndata: ${encodeWireLine(f)}\n\n`
const canned =
  (body: string): typeof fetch =>
  async () =>
    new Response(body)

/** A response body delivered in chunks of `size` characters. */
function chunked(text: string, size: number): Response {
  let at = 0
  const enc = new TextEncoder()
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= text.length) return c.close()
        c.enqueue(enc.encode(text.slice(at, (at += size))))
      },
    }),
  )
}

describe('fromServerSentStates: the end event', () => {
  it.each([
    ['not json', '"not json"'],
    ['null', '"null"'],
    ['[1]', '"[1]"'],
    ['{"error": 5}', '"{\\"error\\": 5}"'],
  ])('an end whose data is %s errors the Observable, naming what came', async (data, shown) => {
    const body = `${event(frame(0))}event: end\ndata: ${data}\n\n`
    const run = lastValueFrom(fromServerSentStates(url, { fetch: canned(body) }))
    await expect(run).rejects.toThrow(
      new ServerSentStatesError(
        `fromServerSentStates: end: expected {} or {"error": "<message>"}, got ${shown}`,
      ),
    )
  })

  it('an end with {} or no data completes after the frames', async () => {
    for (const end of ['event: end\ndata: {}\n\n', 'event: end\n\n']) {
      const body = event(frame(0)) + event(frame(1)) + end
      const frames = await lastValueFrom(
        fromServerSentStates(url, { fetch: canned(body) }).pipe(toArray()),
      )
      expect(frames.map((f) => f.step)).toEqual([0, 1])
    }
  })

  it('a refusal (HTTP 4xx) errors at once with the server’s words, no retries', async () => {
    let calls = 0
    const fetch403: typeof fetch = async () => (
      calls++,
      new Response('gradstream: Host "evil.example" is not this server\'s name\n', { status: 403 })
    )
    await expect(lastValueFrom(fromServerSentStates(url, { fetch: fetch403 }))).rejects.toThrow(
      new ServerSentStatesError(
        `fromServerSentStates: url: expected an event stream, got HTTP 403 ("gradstream: Host \\"evil.example\\" is not t…") from ${url}`,
      ),
    )
    expect(calls).toBe(1)
  })
})

describe('fromServerSentStates: line assembly', () => {
  it('examines each character once however the text is chunked (a 16 MB line, 64 KiB chunks)', () => {
    const n = 16 * 2 ** 20
    const line = 'x'.repeat(n)
    const split = new LineSplitter(2 ** 26)
    const lines: string[] = []
    for (let at = 0; at < n; at += 65_536) lines.push(...split.push(line.slice(at, at + 65_536)))
    expect(lines).toEqual([])
    lines.push(...split.push('\r'), ...split.push('\nnext\n'))
    expect(lines.length).toBe(2)
    expect(lines[0] === line).toBe(true)
    expect(lines[1]).toBe('next')
    // n + '\r' + '\nnext\n': every character once; a search of the whole pending buffer at
    // each chunk (the old loop) examines Σ k·65,536 for k up to 256, about 2.2e9
    expect(split.scanned).toBe(n + 1 + 6)
  })

  it('splits CR, LF and CRLF, also when a CRLF straddles two chunks', () => {
    const split = new LineSplitter(100)
    const got = [
      ...split.push('a\r'),
      ...split.push('\nb\rc\n'),
      ...split.push('d\r\n\r'),
      ...split.push('e'),
      ...split.push('\n'),
    ]
    expect(got).toEqual(['a', 'b', 'c', 'd', '', 'e'])
    expect(() => new LineSplitter(3).push('abcd')).toThrow(
      new RangeError('line: expected at most 3 characters, got a longer line'),
    )
  })

  it('reads a 16 MB frame (a parameter vector of 1.5 M doubles) correctly', async () => {
    const big = tensor(Array.from({ length: 1_500_000 }, (_, i) => i / 3))
    const f = { ...frame(7), params: big }
    const body = `${event(f)}event: end\ndata: {}\n\n`
    expect(body.length).toBeGreaterThan(16_000_000)
    const frames = await lastValueFrom(
      fromServerSentStates(url, { fetch: async () => chunked(body, 65_536) }).pipe(toArray()),
    )
    expect(frames.length).toBe(1)
    const p = frames[0].params as { shape: number[]; data: Float64Array }
    expect(p.shape).toEqual([1_500_000])
    expect(p.data[1_499_999]).toBe(1_499_999 / 3)
  })

  it('refuses a line longer than maxLineLength', async () => {
    const body = `data: ${'y'.repeat(5000)}`
    await expect(
      lastValueFrom(
        fromServerSentStates(url, {
          maxLineLength: 1000,
          fetch: async () => chunked(body, 512),
        }),
      ),
    ).rejects.toThrow(
      new RangeError(
        'fromServerSentStates: line: expected at most 1000 characters, got a longer line',
      ),
    )
  })
})

describe('fromServerSentStates: reconnection', () => {
  afterEach(() => void vi.useRealTimers())

  /** A server that sends `retry: 0` and one frame, then closes: the old client's storm. */
  function stormServer() {
    let calls = 0
    const fetchOne: typeof fetch = async () => {
      const body = `retry: 0\n\n${event(frame(calls))}`
      calls++
      return new Response(body)
    }
    return { fetchOne, calls: () => calls }
  }

  it('backs off exponentially whatever retry: says (retry: 0, one frame per connection)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const server = stormServer()
    const steps: number[] = []
    const sub = fromServerSentStates(url, { fetch: server.fetchOne }).subscribe((f) =>
      steps.push(f.step),
    )
    await vi.advanceTimersByTimeAsync(3000)
    sub.unsubscribe()
    // retry: 0 is raised to 100 ms, then doubled: reconnections at 100, 300, 700, 1500 ms (the
    // next at 3100): 5 connections in 3 s where the old client made ~1,000
    expect(server.calls()).toBe(5)
    expect(steps).toEqual([0, 1, 2, 3, 4])
  })

  it('waits at most maxRetryMs between reconnections, and gives up after maxRetries in a row', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const server = stormServer()
    let error: unknown = null
    fromServerSentStates(url, { fetch: server.fetchOne, maxRetryMs: 400, maxRetries: 6 }).subscribe(
      { error: (e: unknown) => (error = e) },
    )
    // waits 100, 200, 400, 400, 400, 400 (ceiling 400): connections at 0, 100, 300, 700, 1100,
    // 1500, 1900; the seventh closing is the seventh failure in a row
    await vi.advanceTimersByTimeAsync(1899)
    expect(server.calls()).toBe(6)
    expect(error).toBe(null)
    await vi.advanceTimersByTimeAsync(1)
    expect(server.calls()).toBe(7)
    expect(error).toEqual(
      new ServerSentStatesError(
        `fromServerSentStates: url: expected a reachable event stream, got 6 failed reconnections to ${url}`,
      ),
    )
    await vi.advanceTimersByTimeAsync(60_000)
    expect(server.calls()).toBe(7)
  })
})
