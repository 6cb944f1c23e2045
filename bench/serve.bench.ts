/**
 * Training speed with `--serve` and 200 connected clients against training with no server, in
 * the same run, interleaved (A B B A …) so that the other loads of a shared machine fall on both.
 * The run is the CLI's own (`mnistTraining`: the book's TwoLayerNet 784-50-10, batch 100, sgd
 * 0.1, chunks of 25 steps on setTimeout) and `--serve` is the CLI's own (`serveAlongside`):
 * every state is published as a Server-Sent Event. The clients live in a child process (as a
 * browser or a plotting script would), each reading and discarding its stream; the run starts
 * once all of them are connected. Timed from step 1 to step iters − 1, so the accuracy
 * measurements (step 0 and the end) fall outside; reported as steps per wall second and per CPU
 * second of this process (user + system: the server's socket writes are system time), the latter
 * steadier on a loaded machine. Not a test: nothing here asserts a time.
 *
 *   npx tsx bench/serve.bench.ts [--iters 4000] [--reps 3] [--clients 200] [--fps 30]
 */
import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { lastValueFrom, tap } from 'rxjs'
import { serveAlongside } from '../src/cli/serve.js'
import { BOOK_DEFAULTS, mnistTraining } from '../src/cli/trainMnist.js'
import { loadMnist } from '../src/data/loadMnist.js'
import type { TwoLayerParams } from '../src/nn/twoLayerNet.js'
import type { TrainState } from '../src/state/types.js'

const args = process.argv.slice(2)
const option = (name: string, dflt: number) =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt

if (args.includes('--clients-child')) {
  // the clients: for each `port` line, drop the previous connections and open `clients` new
  // ones; say `connected` once every one has its response headers; count the bytes read
  const clients = option('--clients', 200)
  let sockets: Socket[] = []
  let bytes = 0
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'bytes') {
      process.stdout.write(`bytes ${bytes}\n`)
      continue
    }
    sockets.forEach((s) => s.destroy())
    const port = Number(line)
    let ready = 0
    sockets = Array.from({ length: clients }, () => {
      const s = connect(port, '127.0.0.1')
      let seen = false
      s.on('connect', () => s.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`))
      s.on('data', (d: Buffer) => {
        bytes += d.length
        if (!seen && d.includes('retry: 500')) {
          seen = true
          if (++ready === clients) process.stdout.write('connected\n')
        }
      })
      s.on('error', () => {})
      return s
    })
  }
  sockets.forEach((s) => s.destroy())
  process.exit(0)
}

const iters = option('--iters', 4000)
const reps = option('--reps', 3)
const clients = option('--clients', 200)
/** states a second --serve passes to the server (the CLI's default 30; a large value: all) */
const fps = option('--fps', 30)
const data = loadMnist({ normalize: true, oneHotLabel: true })
const opts = { ...BOOK_DEFAULTS, iters, evalEvery: iters } // accuracy at the start and the end

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--clients-child',
    '--clients',
    String(clients),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
)
const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
const next = async () => (await replies.next()).value as string

/** Training steps per second of one run, with or without the server and its clients. */
async function once(
  serve: boolean,
): Promise<{ stepsPerSecond: number; cpuStepsPerSecond: number; clientsAtEnd: number }> {
  const t = mnistTraining(opts, { data })
  let run$ = t.run$
  let clientsAtEnd = 0
  let closed: Promise<void> = Promise.resolve()
  if (serve) {
    const serving = serveAlongside<TrainState<TwoLayerParams>>({ port: 0, run: 'mnist', fps })
    const server = await serving.server
    child.stdin!.write(`${server.port}\n`)
    if ((await next()) !== 'connected') throw new Error('serve.bench: the clients did not connect')
    if (server.stats().clients !== clients) throw new Error('serve.bench: clients missing')
    closed = server.closed
    run$ = run$.pipe(
      tap({ complete: () => (clientsAtEnd = server.stats().clients) }),
      serving.operator,
    )
  }
  // measured from the state of step 1 to that of step iters − 1: the accuracy measurements
  // (at step 0 and at the end) fall outside, so wall and CPU time are the training's alone
  let t0 = 0
  let cpu0 = process.cpuUsage()
  let ms = 0
  let cpuMs = 0
  const window = tap<TrainState<TwoLayerParams>>((s) => {
    if (s.step === 1) ((t0 = performance.now()), (cpu0 = process.cpuUsage()))
    if (s.step === iters - 1) {
      ms = performance.now() - t0
      const cpu = process.cpuUsage(cpu0)
      cpuMs = (cpu.user + cpu.system) / 1000 // the socket writes are system time
    }
  })
  await lastValueFrom(run$.pipe(window))
  await closed
  return {
    stepsPerSecond: ((iters - 2) / ms) * 1000,
    cpuStepsPerSecond: ((iters - 2) / cpuMs) * 1000,
    clientsAtEnd,
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
console.log(
  `serve.bench: MNIST TwoLayerNet 784-50-10, batch 100, sgd 0.1, ${iters} steps a run, ${reps} reps (A B B A …), ${clients} reading clients in a child process, --serve passing ${fps} states a second; load ${load()}`,
)
await once(false) // warm-up: the JIT and the kernels, not counted
const none: number[] = []
const served: number[] = []
const noneCpu: number[] = []
const servedCpu: number[] = []
for (let r = 0; r < reps; r++) {
  const order = r % 2 === 0 ? [false, true] : [true, false]
  for (const serve of order) {
    const { stepsPerSecond, cpuStepsPerSecond, clientsAtEnd } = await once(serve)
    ;(serve ? served : none).push(stepsPerSecond)
    ;(serve ? servedCpu : noneCpu).push(cpuStepsPerSecond)
    console.log(
      `  rep ${r + 1} ${serve ? `--serve, ${clients} clients` : 'no server        '}: ${stepsPerSecond.toFixed(0)} steps/s wall, ${cpuStepsPerSecond.toFixed(0)} per CPU second${serve ? ` (${clientsAtEnd} clients connected at the end)` : ''}; load ${load()}`,
    )
  }
}
child.stdin!.write('bytes\n')
const bytes = Number((await next()).split(' ')[1])
child.stdin!.end()
const ratio = median(served) / median(none)
const cpuRatio = median(servedCpu) / median(noneCpu)
// each rep's two runs ran back to back: their ratio cancels the load that drifts between reps
const paired = served.map((v, i) => v / none[i])
const pairedCpu = servedCpu.map((v, i) => v / noneCpu[i])
console.log(
  `median, wall: no server ${median(none).toFixed(0)} steps/s, --serve + ${clients} clients ${median(served).toFixed(0)} steps/s: ${ratio.toFixed(3)}x; per rep ${paired.map((r) => r.toFixed(2)).join(' ')}, median ${median(paired).toFixed(3)}x`,
)
console.log(
  `median, per CPU second of this process: ${median(noneCpu).toFixed(0)} vs ${median(servedCpu).toFixed(0)}: ${cpuRatio.toFixed(3)}x; per rep ${pairedCpu.map((r) => r.toFixed(2)).join(' ')}, median ${median(pairedCpu).toFixed(3)}x`,
)
console.log(`clients read ${(bytes / 2 ** 20).toFixed(0)} MB in all; load ${load()}`)
