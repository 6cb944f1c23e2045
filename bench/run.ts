// `npm run bench`: every workload (W1–W6) for gradstream and its peers in one run, interleaved,
// each measurement in a fresh process, several repetitions; prints medians and ratios.
//
//   npm run bench                          all workloads, 3 repetitions
//   npm run bench -- --reps 5 --only W1,W3 a subset
//   npm run bench -- --quick               shorter runs (extrapolated to the full workload)
//   npm run bench -- --full                peers that are normally run shorter (tfjs cpu, the book's
//                                          numerical_gradient over 39,760 probes) run in full
//   npm run bench -- --who gradstream      only contenders whose name contains this
//   npm run bench -- --write               also write the tables to bench/RESULTS.md
//
// Peers: the book's NumPy code (bench/book_numpy.py; skipped with a notice without python3 +
// numpy), run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment only (this
// environment sets them and they slow OpenBLAS down); TensorFlow.js wasm and cpu from bench/'s
// own package (installed here with `npm --prefix bench ci` when missing). A peer run shorter than
// the workload is extrapolated linearly from its per-unit time (marked ~); the fixed final
// evaluation is added once.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { bundleEntry, bundleWorkers } from './bundle.js'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const reps = Number(option('--reps') ?? 3)
const only = option('--only')?.split(',')
/** `--who gradstream`: only contenders whose name contains one of these (comma-separated) */
const who = option('--who')?.split(',')
const quick = flag('--quick')
const full = flag('--full')

interface Result {
  seconds: number
  units: number
  trainSeconds?: number
  evalSeconds?: number
  [extra: string]: unknown
}

interface Contender {
  name: string
  /** the process to run: [executable, ...args]; its last line is `RESULT <json>` or the JSON itself */
  cmd: () => string[]
  env?: NodeJS.ProcessEnv
}

interface Workload {
  id: string
  title: string
  /** units of the full workload (steps, iterations, gradients) */
  units: number
  unitName: string
  contenders: Contender[]
}

/**
 * Each bench file is bundled once with esbuild (as an application bundler would ship gradstream)
 * into bench/out/<name>.mjs with a tiny entry that awaits `export(options)` and prints
 * `RESULT <json>`; measurements then run on plain node. (Running the sources through tsx would
 * time its transform's `keepNames` wrappers too: every closure created in a hot loop gets named.)
 */
const bundled = new Set<string>()
async function bundle(file: string): Promise<void> {
  if (bundled.has(file)) return
  await bundleEntry(root, {
    contents: `import * as m from './${file}'
const r = await m[process.argv[2]](JSON.parse(process.argv[3] ?? '{}'))
console.log('RESULT ' + JSON.stringify(r))`,
    resolveDir: here,
    outfile: join(here, 'out', file.replace(/\.ts$/, '.mjs')),
    sourcefile: `${file}.entry.ts`,
  })
  bundled.add(file)
  // src/parallel's worker modules go beside the bundles, where the bundled code looks for them
  if (!bundled.has('(workers)')) {
    await bundleWorkers(root, join(here, 'out'))
    bundled.add('(workers)')
  }
}
/**
 * A peer's harness (TensorFlow.js) runs under tsx instead: its own code is plain JS either way,
 * and tfjs-core's gradient modules load only through tsx's CommonJS interop.
 */
const tsx = (file: string, fn: string, opts: object = {}): string[] => [
  process.execPath,
  '--import',
  'tsx',
  '-e',
  `import(${JSON.stringify(join(here, file))}).then((m) => m.${fn}(JSON.parse(process.argv[1]))).then((r) => console.log('RESULT ' + JSON.stringify(r)))`,
  JSON.stringify(opts),
]
const node = (file: string, fn: string, opts: object = {}): string[] => [
  process.execPath,
  join(here, 'out', file.replace(/\.ts$/, '.mjs')),
  fn,
  JSON.stringify(opts),
]

// ---- peers available? -------------------------------------------------------------------
const numpyEnv: NodeJS.ProcessEnv = { ...process.env }
delete numpyEnv.OPENBLAS_CORETYPE
delete numpyEnv.OPENBLAS_L2_SIZE
const python = spawnSync('python3', ['-c', 'import numpy'], { env: numpyEnv })
const hasNumpy = python.status === 0
if (!hasNumpy) console.log('bench: python3 with numpy not found: the NumPy peer is skipped')
const numpyInfo = hasNumpy
  ? JSON.parse(
      execFileSync('python3', [join(here, 'book_numpy.py'), 'info'], {
        env: numpyEnv,
        encoding: 'utf8',
      }),
    )
  : null
const py =
  (work: string, extra: string[] = []) =>
  () => ['python3', join(here, 'book_numpy.py'), work, ...extra]
/** OpenBLAS's spinning threads suffer most when the machine is shared: also time it on one thread. */
const numpy1Env: NodeJS.ProcessEnv = { ...numpyEnv, OPENBLAS_NUM_THREADS: '1' }
const numpyPeers = (work: string, extra: string[] = []): Contender[] =>
  hasNumpy
    ? [
        { name: 'numpy (book)', cmd: py(work, extra), env: numpyEnv },
        { name: 'numpy (book, 1 BLAS thread)', cmd: py(work, extra), env: numpy1Env },
      ]
    : []

let hasTfjs = existsSync(join(here, 'node_modules/@tensorflow/tfjs-backend-wasm'))
let hasJaxjs = existsSync(join(here, 'node_modules/@jax-js/jax'))
if (!hasTfjs || !hasJaxjs) {
  console.log('bench: installing the JavaScript peers (npm --prefix bench ci)…')
  const r = spawnSync('npm', ['--prefix', here, 'ci', '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  })
  hasTfjs = r.status === 0
  hasJaxjs = r.status === 0
  if (!hasTfjs)
    console.log('bench: could not install bench/ dependencies: the JavaScript peers are skipped')
}

// ---- the workloads ----------------------------------------------------------------------
const w1Steps = quick ? 20_000 : 100_000
const w3Iters = quick ? 1_000 : 10_000
const extraBench = readdirSync(here).filter(
  (f) =>
    f.endsWith('.bench.ts') &&
    f !== 'workloads.bench.ts' &&
    f !== 'tfjs.bench.ts' &&
    f !== 'jaxjs.bench.ts',
)

/** Bench files of other parts of the library declare `export const workload = 'W4'` and a `label`. */
function discovered(id: string): Contender[] {
  const out: Contender[] = []
  for (const f of extraBench) {
    const text = readFileSync(join(here, f), 'utf8')
    const w = /export const workload = '(W\d)'/.exec(text)?.[1]
    const label = /export const label = '([^']+)'/.exec(text)?.[1] ?? f.replace('.bench.ts', '')
    if (w === id && /export (async )?function run\b/.test(text)) {
      out.push({ name: `gradstream: ${label}`, cmd: () => node(f, 'run', { quick }) })
    }
  }
  return out
}

const workloads: Workload[] = [
  {
    id: 'W1',
    title: "W1: the book's gradient descent on x0²+x1², numerical gradient",
    units: 100_000,
    unitName: 'steps',
    contenders: [
      { name: 'gradstream', cmd: () => node('workloads.bench.ts', 'w1', { iters: w1Steps }) },
      ...discovered('W1'),
      ...(hasNumpy
        ? [{ name: 'numpy (book)', cmd: py('W1', ['--iters', String(w1Steps)]), env: numpyEnv }]
        : []),
    ],
  },
  {
    id: 'W2',
    title: "W2: numerical gradient of TwoLayerNet's loss, 39,760 parameters, batch 100",
    units: 1,
    unitName: 'gradients',
    contenders: [
      { name: 'gradstream (incremental)', cmd: () => node('workloads.bench.ts', 'w2', {}) },
      ...discovered('W2'),
      ...numpyPeers('W2', full ? [] : ['--probes', quick ? '1000' : '4000']),
    ],
  },
  {
    id: 'W3',
    title: "W3: the book's training (784–50–10, SGD 0.1, batch 100), backprop, + final accuracy",
    units: 10_000,
    unitName: 'iterations',
    contenders: [
      { name: 'gradstream', cmd: () => node('workloads.bench.ts', 'w3', { iters: w3Iters }) },
      {
        name: 'gradstream (1 thread)',
        cmd: () => node('workloads.bench.ts', 'w3', { iters: w3Iters, threads: 1 }),
      },
      {
        name: 'gradstream (2 threads)',
        cmd: () => node('workloads.bench.ts', 'w3', { iters: w3Iters, threads: 2 }),
      },
      {
        name: 'gradstream (bare loop, same step)',
        cmd: () => node('workloads.bench.ts', 'w3bare', { iters: w3Iters }),
      },
      {
        // the same TypeScript sources run through tsx (as `npx tsx script.ts` runs a user's script)
        name: 'gradstream (TypeScript under tsx)',
        cmd: () => tsx('workloads.bench.ts', 'w3', { iters: w3Iters }),
      },
      {
        // the same under tsx with node's --initial-old-space-size=64, as `npx tsx
        // --initial-old-space-size=64 script.ts` runs it (the tsx finding: ~6x fewer full GCs)
        name: 'gradstream (TypeScript under tsx --initial-old-space-size=64)',
        cmd: () => {
          const [exe, ...rest] = tsx('workloads.bench.ts', 'w3', { iters: w3Iters })
          return [exe, '--initial-old-space-size=64', ...rest]
        },
      },
      {
        // the built JavaScript under node, in a process that also loaded tsx (the tsx finding)
        name: 'gradstream (built, node --import tsx)',
        cmd: () => [
          process.execPath,
          '--import',
          'tsx',
          ...node('workloads.bench.ts', 'w3', { iters: w3Iters }).slice(1),
        ],
      },
      {
        // the general path: mlp's autodiff tape on the same net (sigmoid, std 0.01)
        name: 'gradstream mlp 784–50–10 sigmoid (autodiff tape)',
        cmd: () => node('workloads.bench.ts', 'w3mlp', { iters: w3Iters }),
      },
      ...discovered('W3'),
      ...numpyPeers('W3', ['--iters', String(w3Iters)]),
      ...(hasTfjs
        ? [
            {
              name: 'tfjs wasm',
              cmd: () =>
                tsx('tfjs.bench.ts', 'w3', {
                  backend: 'wasm',
                  iters: full ? 10_000 : quick ? 300 : 1_000,
                }),
            },
            {
              name: 'tfjs cpu',
              cmd: () =>
                tsx('tfjs.bench.ts', 'w3', {
                  backend: 'cpu',
                  iters: full ? 10_000 : quick ? 100 : 300,
                }),
            },
          ]
        : []),
    ],
  },
  {
    id: 'W4',
    title: "W4: the stream's overhead (the same step through `train` and through a bare loop)",
    units: 1,
    unitName: 'runs',
    contenders: discovered('W4'),
  },
  {
    id: 'W5',
    title: 'W5: mlp 784–256–128–10, Adam, batch 128, one epoch (469 steps)',
    units: 469,
    unitName: 'steps',
    contenders: [
      {
        name: 'gradstream',
        cmd: () => node('workloads.bench.ts', 'w5', quick ? { iters: 100 } : {}),
      },
      {
        // 'auto' (above) never probes a run this short (autoTuning.firstProbeMs): what each
        // thread count gives W5 from its first step
        name: 'gradstream (1 thread)',
        cmd: () =>
          node('workloads.bench.ts', 'w5', { ...(quick ? { iters: 100 } : {}), threads: 1 }),
      },
      {
        name: 'gradstream (2 threads)',
        cmd: () =>
          node('workloads.bench.ts', 'w5', { ...(quick ? { iters: 100 } : {}), threads: 2 }),
      },
      {
        name: 'gradstream (TypeScript under tsx)',
        cmd: () => tsx('workloads.bench.ts', 'w5', quick ? { iters: 100 } : {}),
      },
      ...discovered('W5'),
      ...numpyPeers('W5'),
      ...(hasTfjs
        ? [
            {
              name: 'tfjs wasm',
              cmd: () => tsx('tfjs.bench.ts', 'w5', { backend: 'wasm', iters: quick ? 100 : 469 }),
            },
            {
              name: 'tfjs cpu',
              cmd: () => tsx('tfjs.bench.ts', 'w5', { backend: 'cpu', iters: full ? 469 : 50 }),
            },
          ]
        : []),
      ...(hasJaxjs
        ? [
            {
              // float32, the whole step one jit-compiled function, blockUntilReady every step
              name: 'jax-js wasm (jit)',
              cmd: () => tsx('jaxjs.bench.ts', 'w5', quick ? { iters: 100 } : {}),
            },
          ]
        : []),
    ],
  },
  {
    id: 'W6',
    title: 'W6: mlp 784–1024–1024–10, Adam, batch 256, 100 steps (a wider net: the products scale)',
    units: 100,
    unitName: 'steps',
    contenders: [
      {
        name: 'gradstream',
        cmd: () => node('workloads.bench.ts', 'w6', quick ? { iters: 30 } : {}),
      },
      ...discovered('W6'),
      ...numpyPeers('W6', quick ? ['--iters', '30'] : []),
    ],
  },
]

// ---- measuring --------------------------------------------------------------------------
function measure(c: Contender): Result | string {
  const [exe, ...rest] = c.cmd()
  const r = spawnSync(exe, rest, {
    cwd: root,
    env: c.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  })
  const lines = (r.stdout ?? '').trim().split('\n')
  const lastLine = lines[lines.length - 1] ?? ''
  const json = lastLine.startsWith('RESULT ') ? lastLine.slice(7) : lastLine
  try {
    return JSON.parse(json) as Result
  } catch {
    const err = (r.stderr ?? '').split('\n').filter((l) => /Error|error/.test(l) && l.length < 400)
    return `failed (exit ${r.status}): ${err[0] ?? lastLine.slice(0, 200)}`
  }
}

/** Seconds for the full workload: per-unit time × units, plus the one-off final evaluation. */
function fullSeconds(w: Workload, r: Result): number {
  const train = r.trainSeconds ?? r.seconds
  return (train / r.units) * w.units + (r.evalSeconds ?? 0)
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const fmt = (s: number) =>
  s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s >= 0.1 ? s.toFixed(2) : s.toPrecision(2)
const load0 = loadavg()
const started = new Date()
const sections: string[] = []

for (const w of workloads) {
  if (only && !only.includes(w.id)) continue
  if (who) w.contenders = w.contenders.filter((c) => who.some((x) => c.name.includes(x)))
  for (const c of w.contenders) {
    const [, script] = c.cmd()
    const m = /bench\/out\/(.+)\.mjs$/.exec(script)
    if (m) await bundle(`${m[1]}.ts`)
  }
  console.log(`\n${w.title}`)
  if (w.contenders.length === 0) {
    const note = `${w.id}: no contender yet (expects a bench/*.bench.ts declaring \`export const workload = '${w.id}'\`)`
    console.log(`  ${note}`)
    sections.push(`### ${w.title}\n\n${note}\n`)
    continue
  }
  const results = new Map<string, Result[]>()
  const failures = new Map<string, string>()
  for (let rep = 0; rep < reps; rep++) {
    // rotate the order every repetition so no contender always runs first (warm caches, load)
    const order = w.contenders.map((_, i) => w.contenders[(i + rep) % w.contenders.length])
    for (const c of order) {
      const r = measure(c)
      if (typeof r === 'string') {
        failures.set(c.name, r)
        console.log(`  rep ${rep + 1} ${c.name}: ${r}`)
        continue
      }
      results.set(c.name, [...(results.get(c.name) ?? []), r])
      // CPU time of the training part (all the process's threads) beside the wall time: on a
      // shared machine the wall clock also counts waiting for a core
      const cpu =
        typeof r.trainCpuSeconds === 'number' ? `, training CPU ${fmt(r.trainCpuSeconds)} s` : ''
      console.log(
        `  rep ${rep + 1} ${c.name}: ${fmt(fullSeconds(w, r))} s${r.units < w.units ? ` (~ from ${r.units} ${w.unitName})` : ''}${cpu} (load ${loadavg()[0].toFixed(1)})`,
      )
    }
  }
  const rows = w.contenders
    .filter((c) => results.has(c.name))
    .map((c) => {
      const rs = results.get(c.name)!
      const times = rs.map((r) => fullSeconds(w, r))
      const lastR = rs[rs.length - 1]
      const cpus = rs.map((r) => r.trainCpuSeconds).filter((v) => typeof v === 'number')
      const extras = Object.entries({
        ...lastR,
        ...(cpus.length > 0 ? { trainCpuSeconds: median(cpus as number[]) } : {}),
      })
        .filter(([k]) => !['seconds', 'units', 'trainSeconds', 'evalSeconds'].includes(k))
        .map(
          ([k, v]) =>
            `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toPrecision(4)) : v}`,
        )
        .join(', ')
      return {
        name: c.name,
        med: median(times),
        min: Math.min(...times),
        n: times.length,
        units: lastR.units,
        extras,
      }
    })
  const base = rows.find((r) => r.name.startsWith('gradstream'))
  const table = [
    `| contender | median s | min s | runs | ${w.unitName} run | vs gradstream | notes |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.units < w.units ? '~' : ''}${fmt(r.med)} | ${fmt(r.min)} | ${r.n} | ${Number.isInteger(r.units) ? r.units : r.units.toPrecision(3)} | ${
          base ? `${(r.med / base.med).toFixed(r.med / base.med >= 10 ? 0 : 2)}×` : '–'
        } | ${r.extras} |`,
    ),
    ...[...failures].map(([name, why]) => `| ${name} | – | – | 0 | – | – | ${why} |`),
  ].join('\n')
  console.log(`\n${table}`)
  sections.push(`### ${w.title}\n\n${table}\n`)
}

// ---- self-contained bench scripts of other parts (no `run` export): run once, output kept --
if (!only || only.includes('extra')) {
  for (const f of extraBench) {
    const text = readFileSync(join(here, f), 'utf8')
    if (/export (async )?function run\b/.test(text)) continue
    console.log(`\n${f}`)
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, f)], {
      cwd: root,
      encoding: 'utf8',
      env: numpyEnv,
    })
    const out = (r.stdout ?? '')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('appended to'))
      .join('\n')
    console.log(out || `failed (exit ${r.status})`)
    sections.push(
      `### ${f} (\`npx tsx bench/${f}\`)\n\n\`\`\`\n${out || `failed (exit ${r.status})`}\n\`\`\`\n`,
    )
  }
}

// ---- the machine ------------------------------------------------------------------------
const sh = (cmd: string) => {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim()
  } catch {
    return '?'
  }
}
const machine = [
  `- date: ${started.toISOString()}; command: \`npm run bench${args.length ? ' -- ' + args.join(' ') : ''}\` (${reps} repetitions, interleaved, one process per measurement)`,
  `- CPU: ${cpus()[0]?.model ?? '?'}, nproc ${sh('nproc')}; load average at start ${load0.map((l) => l.toFixed(1)).join(' / ')}, at end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}`,
  `- node ${process.version}; gradstream kernels: ${sh(`cd ${root} && ${process.execPath} --import tsx -e "import('./src/index.ts').then(g=>console.log(g.getKernelBackend()))"`)}`,
  numpyInfo
    ? `- numpy ${numpyInfo.numpy} (python ${numpyInfo.python}), BLAS ${numpyInfo.blasBuild ?? '?'}; threadpoolctl: ${typeof numpyInfo.blas === 'string' ? numpyInfo.blas : JSON.stringify(numpyInfo.blas)}; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed for the numpy process (parent had ${process.env.OPENBLAS_CORETYPE ?? 'unset'} / ${process.env.OPENBLAS_L2_SIZE ?? 'unset'})`
    : '- numpy: not available (peer skipped)',
  hasTfjs
    ? `- TensorFlow.js ${JSON.parse(readFileSync(join(here, 'node_modules/@tensorflow/tfjs-core/package.json'), 'utf8')).version} (float32) from bench/package.json`
    : '- TensorFlow.js: not installed (peer skipped)',
].join('\n')
console.log(`\n${machine}`)

if (flag('--write')) {
  // only the "## Latest run" section (from its heading to the next "## " one) is replaced: the
  // sections written by hand after it (each session's figures) stay
  const text = readFileSync(join(here, 'RESULTS.md'), 'utf8')
  const latest = `## Latest run\n\n${machine}\n\n${sections.join('\n').trimEnd()}\n`
  const marker = text.indexOf('<!-- results -->')
  const from = text.indexOf('## Latest run', Math.max(0, marker))
  const to = from < 0 ? -1 : text.indexOf('\n## ', from)
  const out =
    from < 0
      ? `${text.trimEnd()}\n\n${latest}`
      : `${text.slice(0, from)}${latest}${to < 0 ? '' : text.slice(to)}`
  writeFileSync(join(here, 'RESULTS.md'), out)
  console.log('bench: wrote the "Latest run" section of bench/RESULTS.md')
}
