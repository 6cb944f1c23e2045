import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Subject, from, lastValueFrom, toArray } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { announceServer, parseServePort, serveAccess, serveAlongside } from '../../src/cli/serve.js'
import {
  fromServerSentStates,
  ServerSentStatesError,
} from '../../src/remote/fromServerSentStates.js'
import { serveStates, type StateServer } from '../../src/remote/serveStates.js'
import type { TrainState } from '../../src/state/types.js'
import type { WireFrame } from '../../src/state/wireFormat.js'
import { expectClose } from '../helpers/expectClose.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const children: ChildProcess[] = []
afterEach(() => children.forEach((c) => c.exitCode === null && c.kill()))

/** Starts a publisher process and resolves with its URL once it prints `serving <url>`. */
async function startPublisher(
  args: string[],
  command = ['--import', 'tsx', 'test/remote/fixtures/publisher.ts'],
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...command, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stderr!.on('data', (d: Buffer) =>
    (child.stdout as unknown as { emit: (e: string, d: Buffer) => void }).emit('data', d),
  )
  children.push(child)
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /serving (\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) =>
      reject(new Error(`publisher exited (${code}) before serving: ${out}`)),
    )
  })
  return { child, url }
}

/**
 * A loopback TCP proxy that cuts the first client connection after exactly `cutAfter` bytes
 * from the server, to force a real reconnect; counts connections.
 */
async function cuttingProxy(target: URL, cutAfter: number) {
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    connections++
    const first = connections === 1
    const upstream = connect(Number(target.port), target.hostname)
    sockets.add(client).add(upstream)
    let bytes = 0
    client.pipe(upstream)
    upstream.on('data', (d: Buffer) => {
      if (first && bytes + d.length >= cutAfter) {
        // forward only up to the cut, even when the server sent more in one write
        client.write(d.subarray(0, cutAfter - bytes), () => {
          client.destroy()
          upstream.destroy()
        })
        bytes = cutAfter
        return
      }
      bytes += d.length
      client.write(d)
    })
    upstream.on('end', () => client.end())
    const drop = () => (client.destroy(), upstream.destroy())
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    connections: () => connections,
    close: () => {
      sockets.forEach((s) => s.destroy())
      return new Promise<void>((r) => server.close(() => r()))
    },
  }
}

const portIsClosed = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.on('connect', () => (s.destroy(), resolve(false)))
    s.on('error', () => resolve(true))
  })

describe('--serve: states over Server-Sent Events', () => {
  it('gradstream train mnist --serve: a client gets ordered states from the real CLI across a dropped connection, and the server stops with the run', async () => {
    const iters = 60
    const { child, url } = await startPublisher(
      [
        'train',
        'mnist',
        '--serve',
        '0',
        '--iters',
        String(iters),
        '--batch',
        '50',
        '--train-size',
        '2000',
        '--test-size',
        '200',
        '--eval-every',
        '20',
        '--no-progress',
        '--out',
        'examples/out/serve-test-loss.svg',
      ],
      // the sources under tsx (the built bin is tested on a packed copy: test/package)
      ['--import', 'tsx', 'src/cli/main.ts'],
    )
    const target = new URL(url)
    expect(target.hostname).toBe('127.0.0.1') // loopback by default
    // every run sends at least the states of steps 0, 20, 40 and 60 (evaluations; about 300
    // bytes each, however fast it trains): the line drops within the second of them
    const proxy = await cuttingProxy(target, 600)
    const frames = await lastValueFrom(
      fromServerSentStates(proxy.url, { retryMs: 50 }).pipe(toArray()),
    )
    const [code] = await once(child, 'exit')
    await proxy.close()

    expect(proxy.connections()).toBeGreaterThanOrEqual(2)
    // --serve sends at most 30 states a second plus every evaluation and the last (atFrameRate):
    // what arrives is in order, each step once, from the first state to the last
    const steps = frames.map((f) => f.step)
    expect(steps.every((k, i) => i === 0 || k > steps[i - 1])).toBe(true)
    expect([steps[0], steps.at(-1)]).toEqual([0, iters])
    expect(frames.every((f) => f.run === 'mnist')).toBe(true)
    expect(frames.slice(1).every((f) => Number.isFinite(f.loss) && f.lr === 0.1)).toBe(true)
    // accuracy measured at steps 0, 20, 40 and the last
    expect(frames.filter((f) => f.metrics.testAcc !== undefined).map((f) => f.step)).toEqual(
      expect.arrayContaining([0, 20, 40, 60]),
    )
    expect(code).toBe(0)
    expect(await portIsClosed(Number(target.port))).toBe(true)
  }, 60_000)

  it('serveRun: a client receives ordered states from another process, survives a reconnect without duplicates or gaps, and the server stops cleanly', async () => {
    // a child process running the --serve module (src/cli/serve.ts) on a paced 2-D run whose
    // losses the formula below predicts
    const steps = 200
    const { child, url } = await startPublisher(['--steps', String(steps), '--every', '4'])
    const target = new URL(url)
    const proxy = await cuttingProxy(target, 6_000) // ≈ 20 frames, then the line drops
    const frames = await lastValueFrom(
      fromServerSentStates(proxy.url, { retryMs: 50 }).pipe(toArray()),
    )
    const [code] = await once(child, 'exit')
    await proxy.close()

    expect(proxy.connections()).toBeGreaterThanOrEqual(2) // it did reconnect
    expect(frames.map((f) => f.step)).toEqual(Array.from({ length: steps + 1 }, (_, i) => i))
    expect(frames[0].loss).toBeNaN()
    // x_k = 0.8^k·(3, 4), so the loss recorded at step k is f(x_{k−1}) = 25·0.64^(k−1);
    // k roundings of relative size 2⁻⁵³ each bound the error by ~k·1.1e-16 relative.
    for (const f of frames.slice(1)) {
      expectClose(f.loss, 25 * 0.64 ** (f.step - 1), { atol: 0, rtol: 1e-13 }, `loss@${f.step}`)
      expect(f.run).toBe('quadratic')
    }
    expect(code).toBe(0) // the server closed and the process ended by itself
    expect(await portIsClosed(Number(target.port))).toBe(true)
  })

  it('a late client gets the whole kept run; an error ends clients with the message', async () => {
    const frames$ = new Subject<WireFrame>()
    const server = await serveStates(frames$, { linger: 1000 })
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
    for (let k = 0; k < 5; k++) frames$.next(frame(k))
    const early = lastValueFrom(fromServerSentStates(server.url).pipe(toArray()))
    await new Promise((r) => setTimeout(r, 100))
    frames$.error(new Error('objective failed at step 5'))
    await expect(early).rejects.toThrow(
      new ServerSentStatesError('fromServerSentStates: the run failed: objective failed at step 5'),
    )
    // after the end, within `linger`: replay from after step 2, then the end
    const late = lastValueFrom(fromServerSentStates(`${server.url}?after=2`).pipe(toArray())).catch(
      (e: Error) => e.message,
    )
    expect(await late).toBe('fromServerSentStates: the run failed: objective failed at step 5')
    await server.close()
    expect(await portIsClosed(server.port)).toBe(true)
  })

  it('serveAlongside: the command sees every state, the server a frame rate of them', async () => {
    const state = (step: number): TrainState => ({
      step,
      params: [1],
      loss: 1 / (step + 1),
      grad: [1],
      lr: 0.1,
      opt: {},
      hyper: {},
      evaluations: step,
      rng: { words: [0, 0, 0, 1], spare: null },
      history: [],
      metrics: {},
    })
    const serving = serveAlongside({ port: 0, run: 'burst', fps: 1, linger: 2000 })
    const server = await serving.server
    const seen = await lastValueFrom(
      from(Array.from({ length: 51 }, (_, k) => state(k))).pipe(serving.operator, toArray()),
    )
    expect(seen.map((s) => s.step)).toEqual(Array.from({ length: 51 }, (_, k) => k))
    // one state a second: the first, then (all 51 within the same second) the last at the end
    const frames = await lastValueFrom(fromServerSentStates(server.url).pipe(toArray()))
    expect(frames.map((f) => f.step)).toEqual([0, 50])
    await server.closed
  })

  it('serves only /events; validates ports', async () => {
    const server = await serveStates(new Subject<WireFrame>())
    const res = await fetch(server.url.replace('/events', '/other'))
    expect(res.status).toBe(404)
    await server.close()
    await server.closed
    expect(parseServePort('8080')).toBe(8080)
    expect(() => parseServePort('http')).toThrow(
      new RangeError('serve: port: expected an integer in [0, 65535], got "http"'),
    )
    await expect(serveStates(new Subject<WireFrame>(), { port: 70000 })).rejects.toThrow(
      new RangeError('serveStates: port: expected an integer in [0, 65535], got 70000'),
    )
  })

  it('gives up after maxRetries failed connections, with a message naming the url', async () => {
    const server = await serveStates(new Subject<WireFrame>())
    await server.close()
    const url = server.url
    await expect(
      lastValueFrom(fromServerSentStates(url, { retryMs: 10, maxRetries: 2 })),
    ).rejects.toThrow(
      new ServerSentStatesError(
        `fromServerSentStates: url: expected a reachable event stream, got 2 failed reconnections to ${url}`,
      ),
    )
  })
})

describe('--serve that cannot listen (issue 20)', () => {
  /** `gradstream train mnist` in this process on a tiny run; exit code, stdout and stderr. */
  async function cli(args: string[]) {
    let stdout = ''
    let stderr = ''
    const io = {
      stdout: { write: (t: string) => ((stdout += t), true), isTTY: false },
      stderr: { write: (t: string) => ((stderr += t), true) },
    }
    const out = join(mkdtempSync(join(tmpdir(), 'gradstream-serve-')), 'loss.svg')
    const tiny = ['--iters', '3', '--train-size', '100', '--test-size', '10', '--out', out]
    const code = await main(['train', 'mnist', ...tiny, '--no-progress', ...args], io as never)
    return { code, stdout, stderr }
  }

  it('a port in use ends the command with exit 1 and the reason, before training', async () => {
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as AddressInfo).port
    try {
      const r = await cli(['--serve', String(port)])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(
        `--serve: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`,
      )
      expect(r.stdout).not.toContain('done:')
      const optional = await cli(['--serve', String(port), '--serve-optional'])
      expect(optional.code).toBe(0)
      expect(optional.stderr).toBe(
        `--serve: listen EADDRINUSE: address already in use 127.0.0.1:${port} (training on without it: --serve-optional)\n`,
      )
      expect(optional.stdout).toContain('done: 3 iterations')
    } finally {
      taken.close()
    }
  })

  it('an unknown host ends the command with exit 1', async () => {
    const r = await cli(['--serve', '0', '--host', 'nohost.invalid'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^--serve: getaddrinfo [A-Z_]+ nohost\.invalid\n$/)
  })

  it('beyond loopback: a token is generated when none is given, and a warning printed', async () => {
    expect(serveAccess({ host: '127.0.0.1' })).toEqual({})
    expect(serveAccess({ host: '0.0.0.0', token: 'given-token-0123456789' }).token).toBe(
      'given-token-0123456789',
    )
    const generated = serveAccess({ host: '0.0.0.0', cors: ['http://127.0.0.1:5173'] })
    expect(generated.token).toMatch(/^[0-9a-f]{32}$/)
    expect(generated.cors).toEqual(['http://127.0.0.1:5173'])
    expect(serveAccess({ host: '0.0.0.0' }).token).not.toBe(generated.token)
    // what is printed, for a server that listened on 0.0.0.0 (not bound here: tests stay on loopback)
    let said = ''
    let stderr = ''
    const url = `http://0.0.0.0:8080/events?token=${generated.token}`
    await announceServer(
      Promise.resolve({ url, port: 8080 } as StateServer),
      { host: '0.0.0.0' },
      { stderr: { write: (t: string) => (stderr += t) } },
      (t) => (said += t),
    )
    expect(said).toBe(`serving ${url}`)
    expect(stderr).toBe(
      'warning: --host 0.0.0.0 serves the run beyond this machine: whoever reaches port 8080 with the token can read it (the URL above carries it)\n',
    )
  })
})
