// W5 under 'auto' against one and two threads, each run in a fresh process, the counts
// alternating: the training's wall time, its mean step period in bins of steps, and what
// 'auto''s probes measured (src/parallel/autoThreads.ts probeLog), and the minor page faults per
// bin. For issue 21's question why an
// 'auto' run can be slower than both fixed counts.
//
//   npx tsx --initial-old-space-size=64 bench/w5Auto.ts [reps=3] [counts=auto,1,2] [bin=50]
// Counts: auto, 1, 2, and s1 (setKernelThreads(2) with no product or pass split: one thread on
// the shared memory). Environment: W5AUTO_MARGIN=0: 'auto' probes and always keeps one thread; W5AUTO_WATCH=0: no
// watch between probes; W5AUTO_TWOFIRST=1|0: autoTuning.twoFirst; W5AUTO_BUSY_AT=n: a busy-loop
// process competes from step n on
import { execFileSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'

const [repsArg, countsArg, binArg] = process.argv.slice(2)
if (process.env.W5AUTO_CHILD) {
  const { last, lastValueFrom, tap } = await import('rxjs')
  const { epochBatches, mlp, setKernelThreads, train } = await import('../src/index.js')
  const { closeWorkers, loadMnist } = await import('../src/node.js')
  const { adam, gradient, maxSteps } = await import('../operators/index.js')
  const { autoTuning, probeLog } = await import('../src/parallel/autoThreads.js')
  // W5AUTO_MARGIN=0: 'auto' never finds two threads faster (it probes, then keeps one thread)
  if (process.env.W5AUTO_MARGIN !== undefined) autoTuning.margin = Number(process.env.W5AUTO_MARGIN)
  // W5AUTO_TWOFIRST=1 (or 0): a large step starts on two threads once the helper is ready
  // (autoTuning.twoFirst)
  if (process.env.W5AUTO_TWOFIRST !== undefined)
    autoTuning.twoFirst = process.env.W5AUTO_TWOFIRST === '1'
  // W5AUTO_WATCH=0: no watch between probes (autoTuning.watch)
  if (process.env.W5AUTO_WATCH !== undefined) autoTuning.watch = Number(process.env.W5AUTO_WATCH)
  // W5AUTO_BUSY_AT=n: from step n on, another process spins on a core (a competing job)
  const busyAt = Number(process.env.W5AUTO_BUSY_AT ?? Infinity)
  const { spawn } = await import('node:child_process')
  const busyRef: { p: ReturnType<typeof spawn> | null } = { p: null }
  const { tapeStats } = await import('../src/parallel/tapeThreads.js')
  const { passStats, splitStats } = await import('../src/parallel/sharedKernels.js')
  const t = process.env.W5AUTO_CHILD
  // count 's1': setKernelThreads(2) with nothing split (products, passes): every step on the
  // shared memory but on one thread, what a one-thread step costs where two-thread steps run
  if (t === 's1') {
    const { passTuning, splitTuning } = await import('../src/parallel/sharedKernels.js')
    Object.assign(splitTuning, { denseMinWork: Infinity, sparseMinWork: Infinity, stepSpinUs: 0 })
    passTuning.minLength = Infinity
    passTuning.wakeUs = 0
  }
  setKernelThreads(t === 'auto' ? 'auto' : t === 's1' ? 2 : (Number(t) as 1 | 2))
  const mnist = loadMnist({ oneHotLabel: true })
  const net = mlp({ sizes: [784, 256, 128, 10], seed: 0 })
  const times: number[] = []
  // minor page faults at each step's end (~12 µs each on this VM): where 'auto' pays its extra ones
  const faults: number[] = []
  const c0 = process.cpuUsage()
  const r0 = process.resourceUsage()
  const w0 = performance.now()
  await lastValueFrom(
    train({
      params: net.params,
      data: epochBatches(mnist.train, { batchSize: 128, seed: 0 }),
      step: (s) =>
        s.pipe(
          gradient((p: typeof net.params, b: { x: any; t: any }) =>
            net.lossAndGradient(p, b.x, b.t),
          ),
          adam(1e-3),
        ),
    }).pipe(
      tap(() => {
        times.push(performance.now())
        faults.push(process.resourceUsage().minorPageFault - r0.minorPageFault)
        if (times.length === busyAt)
          busyRef.p = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
      }),
      maxSteps(469),
      last(),
    ),
  )
  const wall = (performance.now() - w0) / 1000
  busyRef.p?.kill()
  const c = process.cpuUsage(c0)
  const r1 = process.resourceUsage()
  const usage = {
    sys: c.system / 1e6,
    faults: r1.minorPageFault - r0.minorPageFault,
    vcs: r1.voluntaryContextSwitches - r0.voluntaryContextSwitches,
    ics: r1.involuntaryContextSwitches - r0.involuntaryContextSwitches,
  }
  await closeWorkers()
  console.log(
    'RESULT ' +
      JSON.stringify({
        wall,
        cpu: (c.user + c.system) / 1e6,
        times,
        faults,
        probeLog,
        two: tapeStats.steps,
        splits: `${splitStats.products}/${passStats.split}`,
        usage,
      }),
  )
} else {
  const reps = Number(repsArg ?? 3)
  const counts = (countsArg ?? 'auto,1,2').split(',')
  const bin = Number(binArg ?? 50)
  const me = fileURLToPath(import.meta.url)
  console.log(`W5 steps, ${counts} alternating, ${reps} reps, bins of ${bin} steps (mean ms)`)
  for (let r = 0; r < reps; r++) {
    for (const t of r % 2 ? [...counts].reverse() : counts) {
      const l0 = loadavg()[0].toFixed(2)
      const out = execFileSync(process.execPath, [...process.execArgv, me], {
        env: { ...process.env, W5AUTO_CHILD: t },
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      })
      const x = JSON.parse(
        out
          .split('\n')
          .find((l) => l.startsWith('RESULT '))!
          .slice(7),
      )
      const bins: string[] = []
      const faultBins: number[] = []
      for (let i = bin; i < x.times.length; i += bin) {
        bins.push(((x.times[i] - x.times[i - bin]) / bin).toFixed(2))
        faultBins.push(x.faults[i] - x.faults[i - bin])
      }
      const probes = x.probeLog
        .map(
          (p: any) =>
            `@${p.at} in ${p.mode}: ${p.inUse.toFixed(2)} vs ${p.other.toFixed(2)}` +
            (p.waited === undefined ? '' : ` (started by a ${p.waited.toFixed(2)} wait)`),
        )
        .join('; ')
      console.log(
        `  ${t.padEnd(4)} ${x.wall.toFixed(3)} s wall, ${x.cpu.toFixed(3)} s CPU, two-thread steps ${x.two} (split products/passes ${x.splits}); ` +
          `sys ${x.usage.sys.toFixed(2)} s, faults ${x.usage.faults}, vcs ${x.usage.vcs}, ics ${x.usage.ics}; bins ${bins.join(' ')}; faults by step 1 ${x.faults[0]}, per bin ${faultBins.join(' ')}; probes ${probes || '-'}; load ${l0} → ${loadavg()[0].toFixed(2)}`,
      )
    }
  }
}
