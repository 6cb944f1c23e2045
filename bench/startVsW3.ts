// `npm start`'s training against the built bench's W3 (issue 15: "npm start training speed
// equal to the built bench's W3 row"), interleaved in one run: each rep runs every contender
// once, in a rotated order, each in a fresh node process under --trace-gc, and prints steps/s
// (training time, no evaluation), the process's CPU seconds, its full (Mark-Compact) garbage
// collections, and the load average before it.
//
//   npx tsx bench/startVsW3.ts [--reps 4] [--iters 1000] [--only w3,start,...]
//
// Contenders (the same net, batches, seed and step count; threads 'auto' in all):
//   w3       node bench/out/startVsW3/w3.mjs: workloads.bench.ts's `w3`, bundled as bench/run.ts
//            bundles it; units / trainSeconds, one accuracy measurement after training
//   start    the node command of package.json's `start` script (what `npm start` runs after
//            building), `--iters N`, on a pseudo-terminal 100 columns wide (`script`), so the
//            progress bar draws: the speed its `done:` line prints (training time: accuracy
//            measurements excluded)
//   bare     the same without the script's node options: `node bin/gradstream.js train mnist`
//            (the bin runs itself again in a child with --initial-old-space-size=64)
//   unflagged  the bin as it ran before that: `node --initial-old-space-size=0 bin/gradstream.js`
//            (an initial old space set, to V8's default, so the bin runs in place)
//   npx      `npx --no-install gradstream train mnist` (this package's own bin, through npm)
//   plain    `start` with `--no-progress` through a pipe: no bar, an epoch line per evaluation
// `npm run build` runs first (dist/ as `npm start` builds it).
import { execFileSync, spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bundleEntry, bundleWorkers } from './bundle.js'

const here = import.meta.dirname
const root = join(here, '..')
const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const reps = Number(option('--reps') ?? 4)
const iters = Number(option('--iters') ?? 1000)
const out = join(here, 'out', 'startVsW3')

execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
// as bench/run.ts: the bench file bundled against the sources, src/parallel's worker beside it
await bundleEntry(root, {
  contents: `import { w3 } from './workloads.bench.ts'
const r = await w3(JSON.parse(process.argv[2]))
console.log('RESULT ' + JSON.stringify(r))`,
  resolveDir: here,
  outfile: join(out, 'w3.mjs'),
  sourcefile: 'w3.entry.ts',
})
await bundleWorkers(root, out)

interface Measured {
  stepsPerSecond: number
  /** user + system CPU seconds of the whole process (loading, training, accuracy) */
  cpuSeconds: number
  wallSeconds: number
  /** full garbage collections (Mark-Compact lines of --trace-gc) */
  fullGcs: number
  loss: string
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
/** Runs `cmd` under bash, which prints its children's CPU times (`times`) after it. */
function timed(cmd: string[], tty: boolean): { output: string; cpu: number; wall: number } {
  const line = `${cmd.map(sh).join(' ')}; times`
  const t0 = performance.now()
  const r = tty
    ? spawnSync('script', ['-qfec', `stty cols 100; bash -c ${sh(line)}`, '/dev/null'], {
        cwd: root,
        encoding: 'utf8',
      })
    : spawnSync('bash', ['-c', line], { cwd: root, encoding: 'utf8' })
  const wall = (performance.now() - t0) / 1000
  const output = r.stdout + r.stderr
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}\n${output}`)
  // times: the shell's line, then its children's: "0m1.234s 0m0.056s"
  const m = [...output.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].at(-1)!
  const cpu = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])
  return { output, cpu, wall }
}
const fullGcs = (output: string) => output.match(/: Mark-Compact /g)?.length ?? 0

// `npm start`: "npm run -s build && node <options> bin/gradstream.js train mnist"
const startScript = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start
const startArgs = (startScript as string).split('&&').at(-1)!.trim().split(/\s+/).slice(1)
const nodeOptions = startArgs.slice(0, startArgs.indexOf('bin/gradstream.js'))

const cli = (extra: string[], options: string[]) => [
  process.execPath,
  '--trace-gc',
  ...options,
  'bin/gradstream.js',
  'train',
  'mnist',
  '--iters',
  String(iters),
  ...extra,
]
/** `npx` runs node itself: no --trace-gc there (full GCs read 0) */
const npx = ['npx', '--no-install', 'gradstream', 'train', 'mnist', '--iters', String(iters)]
function fromCli(extra: string[], tty: boolean, options = nodeOptions, cmd?: string[]): Measured {
  const r = timed(cmd ?? cli(extra, options), tty)
  const done = /training ([\d.]+) s = (\d+) steps\/s/.exec(r.output)
  const final = /final: loss ([\d.]+)/.exec(r.output)
  if (!done || !final) throw new Error(`no done:/final: line in\n${r.output}`)
  return {
    stepsPerSecond: Number(done[2]),
    cpuSeconds: r.cpu,
    wallSeconds: r.wall,
    fullGcs: fullGcs(r.output),
    loss: final[1],
  }
}

const contenders: Record<string, () => Measured> = {
  w3: () => {
    const r = timed(
      [process.execPath, '--trace-gc', join(out, 'w3.mjs'), JSON.stringify({ iters })],
      false,
    )
    const res = JSON.parse(/RESULT (.*)/.exec(r.output)![1])
    return {
      stepsPerSecond: res.units / res.trainSeconds,
      cpuSeconds: r.cpu,
      wallSeconds: r.wall,
      fullGcs: fullGcs(r.output),
      loss: `${res.loss.toFixed(4)} (last step)`,
    }
  },
  start: () => fromCli([], true),
  bare: () => fromCli([], true, []),
  unflagged: () => fromCli([], true, ['--initial-old-space-size=0']),
  npx: () => fromCli([], true, [], npx),
  plain: () => fromCli(['--no-progress'], false),
}
const names = option('--only')?.split(',') ?? Object.keys(contenders)

const rows: Record<string, Measured[]> = Object.fromEntries(names.map((n) => [n, []]))
for (let rep = 0; rep < reps; rep++) {
  const order = names.map((_, i) => names[(i + rep) % names.length])
  for (const name of order) {
    const load = loadavg()[0]
    const m = contenders[name]()
    rows[name].push(m)
    console.log(
      `rep ${rep + 1} ${name.padEnd(10)} ${m.stepsPerSecond.toFixed(0).padStart(5)} steps/s  cpu ${m.cpuSeconds.toFixed(1)} s  wall ${m.wallSeconds.toFixed(1)} s  full GCs ${m.fullGcs}  load ${load.toFixed(1)}  loss ${m.loss}`,
    )
  }
}
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
console.log(`\nnpm start's node options: ${nodeOptions.join(' ') || '(none)'}`)
console.log(
  `${iters} iterations, ${reps} reps, medians (ratio to the first contender per rep: median, min–max):`,
)
for (const name of names) {
  const speeds = rows[name].map((m) => m.stepsPerSecond)
  const ratios = speeds.map((v, i) => v / rows[names[0]][i].stepsPerSecond)
  console.log(
    `${name.padEnd(10)} ${median(speeds).toFixed(0).padStart(5)} steps/s  cpu ${median(rows[name].map((m) => m.cpuSeconds)).toFixed(1)} s  full GCs ${median(rows[name].map((m) => m.fullGcs))}  ×${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
  )
}
