/**
 * Training speed with `--serve` and 200 connected clients against training with no server, in
 * the same run, interleaved (the order rotates every rep) so that the other loads of a shared
 * machine fall on every variant. The run is the CLI's own (`mnistTraining`: the book's
 * TwoLayerNet 784-50-10, batch 100, sgd 0.1, chunks of 25 steps on setTimeout) and `--serve` is
 * the CLI's own (`serveAlongside`, 30 states a second). Variants:
 *   - no server;
 *   - `--serve`, writes paced (the default: every `flushMs`, 100 ms, or 2 ms per client if
 *     longer: every 400 ms for 200 clients);
 *   - `--serve`, a write every event-loop turn that made a frame (`flushMs: 0`: the server of
 *     session 5), unless `--no-turn`.
 * The clients live in a child process (as a browser or a plotting script would), each reading
 * and discarding its stream; the run starts once all of them are connected. The child runs at
 * `nice` 19 by default (`--clients-nice N`): clients are normally browsers on other machines,
 * and on a 2-core machine whose two cores the training already fills (its caller thread and one
 * kernel helper thread) a client process at normal priority takes its CPU from the training; its
 * own CPU time is reported beside, and every client's byte count at the end shows it read the
 * whole stream (a client left behind would cost the server fewer writes).
 *
 * Timed from step 1 to step iters − 1 (the accuracy measurements at step 0 and at the end fall
 * outside). Reported per variant: steps per wall second (the issue's measure); CPU time of the
 * training's main thread per 1000 steps (Linux /proc/self/task/<pid>/stat: the thread that runs
 * the steps AND the server, so the difference with no server is the server's cost on it); CPU of
 * the whole process (all threads: the kernel helper, the tsx loader) per 1000 steps; CPU of the
 * clients' process per 1000 steps (from subscribing to the end of the run, its 1 s linger
 * included). Ratios are paired: each rep's variants ran back to back, so their ratio cancels the
 * load that drifts between reps; the median of those is given.
 *
 * Then the server alone, without the training's noise: the same `serveAlongside` and clients,
 * fed a real MNIST step's state (renumbered, without the warm-up's last metrics) in chunks of
 * 25 at the speed the no-server runs trained (median steps/s) and at `--alone-speed` (1000
 * steps/s, about a quiet machine's: 788–1177 in session 5), for `--alone-seconds` (10) each.
 * The process's CPU so spent per 1000 steps (process.cpuUsage, µs: with no training the kernel
 * helper thread sleeps, so it is the main thread's and V8's garbage collector threads') is the
 * server's cost on the training thread (frame rate, toWireFrame with the gradient's norm,
 * encoding, socket writes), set against the training's own main-thread CPU per 1000 steps. Not
 * a test: nothing here asserts.
 *
 *   npx tsx bench/serve.bench.ts [--iters 2000] [--reps 5] [--clients 200] [--fps 30]
 *                                [--clients-nice 19] [--no-turn] [--alone-seconds 10] [--alone-speed 1000]
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { loadavg, setPriority } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Subject, lastValueFrom, tap } from 'rxjs'
import { serveAlongside } from '../src/cli/serve.js'
import { BOOK_DEFAULTS, mnistTraining } from '../src/cli/trainMnist.js'
import { loadMnist } from '../src/data/loadMnist.js'
import type { TwoLayerParams } from '../src/nn/twoLayerNet.js'
import type { TrainState } from '../src/state/types.js'

const args = process.argv.slice(2)
const option = (name: string, dflt: number) =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt
const cpuMsOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000

if (args.includes('--clients-child')) {
  // the clients: for each `port` line, drop the previous connections and open `clients` new
  // ones; say `connected` once every one has its response headers. `cpu`: this process's CPU
  // ms so far; `bytes`: the fewest and most bytes one client of the last batch has read
  const clients = option('--clients', 200)
  let sockets: Socket[] = []
  let read: number[] = []
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'cpu') {
      process.stdout.write(`cpu ${cpuMsOf(process.cpuUsage())}\n`)
      continue
    }
    if (line === 'bytes') {
      process.stdout.write(`bytes ${Math.min(...read)} ${Math.max(...read)}\n`)
      continue
    }
    sockets.forEach((s) => s.destroy())
    const port = Number(line)
    let ready = 0
    read = new Array<number>(clients).fill(0)
    sockets = Array.from({ length: clients }, (_, i) => {
      const s = connect(port, '127.0.0.1')
      let seen = false
      s.on('connect', () => s.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`))
      s.on('data', (d: Buffer) => {
        read[i] += d.length
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

const iters = option('--iters', 2000)
const reps = option('--reps', 5)
const clients = option('--clients', 200)
/** states a second --serve passes to the server (the CLI's default 30; a large value: all) */
const fps = option('--fps', 30)
const clientsNice = option('--clients-nice', 19)
const data = loadMnist({ normalize: true, oneHotLabel: true })
const opts = { ...BOOK_DEFAULTS, iters, evalEvery: iters } // accuracy at the start and the end

/** CPU ms of this process's main thread (the one that runs the steps and the server). */
const ticksPerSecond = 100 // USER_HZ: /proc reports 1/100 s on every Linux
const mainThreadMs = (): number => {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond // utime, stime
  } catch {
    return NaN // not Linux
  }
}

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
if (clientsNice !== 0) setPriority(child.pid!, clientsNice)
const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
const next = async () => (await replies.next()).value as string
const ask = async (what: string) => {
  child.stdin!.write(`${what}\n`)
  return (await next()).split(' ').slice(1).map(Number)
}

type Variant = 'none' | 'paced' | 'turn'
const label: Record<Variant, string> = {
  none: 'no server',
  paced: `--serve, ${clients} clients, paced (every ${Math.max(100, 2 * clients)} ms)`,
  turn: `--serve, ${clients} clients, a write every turn`,
}
interface Run {
  /** steps per wall second */
  readonly wall: number
  /** CPU ms per 1000 steps: main thread, whole process, clients' process */
  readonly main: number
  readonly proc: number
  readonly clientsCpu: number
  readonly note: string
}

/** The last state of the warm-up run, fed to the server alone. */
let sample: TrainState<TwoLayerParams> | null = null

/** One run of the training, with or without the server and its clients. */
async function once(variant: Variant): Promise<Run> {
  const t = mnistTraining(opts, { data })
  let run$ = t.run$.pipe(tap((s) => (sample = s)))
  let clientsAtEnd = 0
  let closed: Promise<void> = Promise.resolve()
  let clientsCpu0 = 0
  if (variant !== 'none') {
    const serving = serveAlongside<TrainState<TwoLayerParams>>({
      port: 0,
      run: 'mnist',
      fps,
      ...(variant === 'turn' ? { flushMs: 0 } : {}),
    })
    const server = await serving.server
    child.stdin!.write(`${server.port}\n`)
    if ((await next()) !== 'connected') throw new Error('serve.bench: the clients did not connect')
    if (server.stats().clients !== clients) throw new Error('serve.bench: clients missing')
    closed = server.closed
    run$ = run$.pipe(
      tap({ complete: () => (clientsAtEnd = server.stats().clients) }),
      serving.operator,
    )
    clientsCpu0 = (await ask('cpu'))[0]
  }
  // measured from the state of step 1 to that of step iters − 1: the accuracy measurements
  // (at step 0 and at the end) fall outside, so wall and CPU time are the training's alone
  let t0 = 0
  let cpu0 = process.cpuUsage()
  let main0 = 0
  let ms = 0
  let procMs = 0
  let mainMs = 0
  const window = tap<TrainState<TwoLayerParams>>((s) => {
    if (s.step === 1) {
      t0 = performance.now()
      cpu0 = process.cpuUsage()
      main0 = mainThreadMs()
    }
    if (s.step === iters - 1) {
      ms = performance.now() - t0
      procMs = cpuMsOf(process.cpuUsage(cpu0)) // the socket writes are system time
      mainMs = mainThreadMs() - main0
    }
  })
  await lastValueFrom(run$.pipe(window))
  await closed
  const steps = iters - 2
  let clientsCpu = NaN
  let note = ''
  if (variant !== 'none') {
    clientsCpu = ((await ask('cpu'))[0] - clientsCpu0) / (steps / 1000)
    const [least, most] = await ask('bytes')
    note = `; ${clientsAtEnd} clients at the end, each read ${least === most ? `${least} bytes` : `${least}–${most} bytes (NOT all alike)`}`
  }
  return {
    wall: (steps / ms) * 1000,
    main: mainMs / (steps / 1000),
    proc: procMs / (steps / 1000),
    clientsCpu,
    note,
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
const variants: Variant[] = args.includes('--no-turn')
  ? ['none', 'paced']
  : ['none', 'paced', 'turn']
console.log(
  `serve.bench: MNIST TwoLayerNet 784-50-10, batch 100, sgd 0.1, ${iters} steps a run, ${reps} reps (order rotating), ${clients} reading clients in a child process at nice ${clientsNice}, --serve passing ${fps} states a second; ${new Date().toISOString()}, load ${load()}`,
)
await once('none') // warm-up: the JIT and the kernels, not counted
const runs = new Map<Variant, Run[]>(variants.map((v) => [v, []]))
for (let r = 0; r < reps; r++) {
  const order = variants.map((_, i) => variants[(i + r) % variants.length])
  for (const v of order) {
    const run = await once(v)
    runs.get(v)!.push(run)
    console.log(
      `  rep ${r + 1} ${label[v].padEnd(46)}: ${run.wall.toFixed(0)} steps/s; CPU ms per 1000 steps: main thread ${run.main.toFixed(0)}, process ${run.proc.toFixed(0)}${v === 'none' ? '' : `, clients ${run.clientsCpu.toFixed(0)}`}${run.note}; load ${load()}`,
    )
  }
}

/**
 * The server alone: main-thread CPU ms per 1000 steps of the server and its frame rate fed a
 * real state in chunks of 25 steps at `stepsPerSecond`, and the frames per second it served.
 */
async function serverAlone(variant: Variant, stepsPerSecond: number, seconds: number) {
  const serving = serveAlongside<TrainState<TwoLayerParams>>({
    port: 0,
    run: 'mnist',
    fps,
    ...(variant === 'turn' ? { flushMs: 0 } : {}),
  })
  const server = await serving.server
  child.stdin!.write(`${server.port}\n`)
  if ((await next()) !== 'connected') throw new Error('serve.bench: the clients did not connect')
  const states = new Subject<TrainState<TwoLayerParams>>()
  const done = lastValueFrom(states.pipe(serving.operator), { defaultValue: null })
  const frames0 = server.stats().keptFrames
  const chunks = Math.round((seconds * stepsPerSecond) / 25)
  // a training step's state: no metrics (an evaluation's state is always served), no stopReason
  const { stopReason: _, ...last } = sample!
  const plain: TrainState<TwoLayerParams> = { ...last, metrics: {} }
  const clients0 = (await ask('cpu'))[0]
  // no training runs now: the kernel helper thread sleeps, so the process's CPU (µs) is the
  // main thread's (and the garbage collector's), finer than /proc's 10 ms ticks
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let step = 0
  for (let c = 0; c < chunks; c++) {
    // a chunk of 25 states in one turn, then wait until the training would have made the next
    for (let k = 0; k < 25; k++) states.next({ ...plain, step: ++step })
    const due = t0 + ((c + 1) * 25 * 1000) / stepsPerSecond
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())))
  }
  const mainMs = cpuMsOf(process.cpuUsage(cpu0))
  const wallMs = performance.now() - t0
  const served = server.stats().keptFrames - frames0
  states.complete()
  await done
  await server.closed
  const clientsMs = (await ask('cpu'))[0] - clients0
  return {
    main: mainMs / (step / 1000),
    clients: clientsMs / (step / 1000),
    framesPerSecond: (served / wallMs) * 1000,
    stepsPerSecond: (step / wallMs) * 1000,
  }
}

const none = runs.get('none')!
const pairedMedian = (v: Variant, f: (x: Run) => number) =>
  median(runs.get(v)!.map((x, i) => f(x) / f(none[i])))
console.log(`\nmedians over ${reps} reps (ratios: paired, each rep against its own no-server run):`)
console.log(
  '| variant | steps/s (wall) | wall ratio | main-thread CPU ms / 1000 steps | ratio | process CPU ms / 1000 steps | ratio | clients CPU ms / 1000 steps |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
for (const v of variants) {
  const rs = runs.get(v)!
  const m = (f: (x: Run) => number) => median(rs.map(f))
  const ratio = (f: (x: Run) => number) =>
    v === 'none' ? '1' : `${pairedMedian(v, f).toFixed(3)}×`
  console.log(
    `| ${label[v]} | ${m((x) => x.wall).toFixed(0)} | ${ratio((x) => x.wall)} | ${m((x) => x.main).toFixed(0)} | ${ratio((x) => x.main)} | ${m((x) => x.proc).toFixed(0)} | ${ratio((x) => x.proc)} | ${v === 'none' ? '—' : m((x) => x.clientsCpu).toFixed(0)} |`,
  )
}
console.log(`(wall ratio < 1: slower than no server; CPU ratio > 1: more CPU) load ${load()}`)

const alone = option('--alone-seconds', 10)
if (alone > 0) {
  const measured = median(none.map((x) => x.wall))
  const trainMain = median(none.map((x) => x.main))
  console.log(
    `\nthe server alone (no training), ${clients} clients, fed a real step's state in chunks of 25 for ${alone} s at the no-server median speed and at --alone-speed (1000 steps/s, about the quiet machine's); against the training's own main-thread CPU, ${trainMain.toFixed(0)} ms / 1000 steps:`,
  )
  console.log(
    '| variant | steps/s fed | frames/s served | server CPU ms / 1000 steps (main thread) | share of the training main thread | clients CPU ms / 1000 steps |',
  )
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const speed of [measured, option('--alone-speed', 1000)]) {
    for (const v of variants.filter((x) => x !== 'none')) {
      const a = await serverAlone(v, speed, alone)
      console.log(
        `| ${label[v]} | ${a.stepsPerSecond.toFixed(0)} | ${a.framesPerSecond.toFixed(1)} | ${a.main.toFixed(1)} | ${((100 * a.main) / trainMain).toFixed(1)}% | ${a.clients.toFixed(0)} |`,
      )
    }
  }
  console.log(`load ${load()}`)
}
child.stdin!.end()
