// W4 on the tsc build with plain node (no tsx, no bundler): the 2-D problem (x0² + x1², central
// differences, η = 0.1) through `train` with η constant, from a schedule and from a
// BehaviorSubject, and with η constant but a user's identity `map` between loss and gradient
// (`cut`: the stages are not fused into one function there), against the bare loop, in CPU
// time (process.cpuUsage: on a shared machine wall time also counts waiting for a core). Each
// build is measured in its own process (two builds in one process would share rxjs's code and
// slow each other down), alternating builds for `--rounds` rounds; inside a process the bare
// loop and the four streams are interleaved and each figure is the median of `--reps`
// repetitions. Prints medians over the rounds.
//
//   npx tsc -p tsconfig.build.json --outDir .cache/loop-dist
//   node bench/loopCompiled.mjs .cache/loop-dist                     one build
//   node bench/loopCompiled.mjs .cache/loop-old .cache/loop-dist     two builds (e.g. before/after)
//   options: --steps 100000 --reps 7 --rounds 3
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2)
const option = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d)
const steps = option('--steps', 100_000)
const reps = option('--reps', 7)
const rounds = option('--rounds', 3)
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

if (process.env.LOOP_CHILD !== undefined) {
  // one process, one build: print { bare, const, schedule, observable } in CPU µs per step
  const dir = pathToFileURL(resolve(process.env.LOOP_CHILD)).href
  const { tensor, train } = await import(`${dir}/src/index.js`)
  const ops = await import(`${dir}/operators/index.js`)
  const { BehaviorSubject, map, pipe } = await import('rxjs')
  const h = 1e-4
  const lr = 0.1
  const f = (x) => x.data[0] ** 2 + x.data[1] ** 2
  const bare = (n) => {
    const t = tensor([-3, 4])
    const x = t.data
    const g = new Float64Array(2)
    let last = 0
    for (let s = 0; s < n; s++) {
      last = f(t)
      for (let i = 0; i < 2; i++) {
        const tmp = x[i]
        x[i] = tmp + h
        const a = f(t)
        x[i] = tmp - h
        const b = f(t)
        g[i] = (a - b) / (2 * h)
        x[i] = tmp
      }
      for (let i = 0; i < 2; i++) x[i] -= lr * g[i]
    }
    return [x[0], x[1], last]
  }
  // `cut`: a user's operator (an identity map) between loss and gradient, so the stages are not
  // fused into one function there (the path any custom operator between stages takes)
  const streamed =
    (rate, cut = false) =>
    (n) => {
      let out
      const { centralDifference, gradient, loss, maxSteps, perturb, update } = ops
      const between = cut ? map((s) => s) : (s$) => s$
      train({
        params: tensor([-3, 4]),
        step: pipe(perturb(centralDifference({ h })), loss(f), between, gradient(), update(rate())),
      })
        .pipe(maxSteps(n))
        .subscribe((s) => (out = s))
      return [out.params.data[0], out.params.data[1], out.loss]
    }
  const subjects = {
    bare,
    const: streamed(() => lr),
    schedule: streamed(() => () => lr),
    observable: streamed(() => new BehaviorSubject(lr)),
    cut: streamed(() => lr, true),
  }
  const want = bare(steps)
  for (const [k, run] of Object.entries(subjects)) {
    run(20_000) // warm up
    const got = run(steps)
    if (!got.every((v, i) => v === want[i])) throw new Error(`${k}: ${got} differs from ${want}`)
  }
  const cpu = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]))
  for (let r = 0; r < reps; r++) {
    for (const [k, run] of Object.entries(subjects)) {
      const c0 = process.cpuUsage()
      run(steps)
      const c = process.cpuUsage(c0)
      cpu[k].push((c.user + c.system) / steps)
    }
  }
  const out = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]))
  console.log(JSON.stringify(out))
} else {
  const dirs = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))
  if (dirs.length === 0) throw new Error('usage: node bench/loopCompiled.mjs <build dir> …')
  const load0 = loadavg()[0]
  const results = Object.fromEntries(dirs.map((d) => [d, []]))
  for (let r = 0; r < rounds; r++) {
    for (const d of dirs) {
      const p = spawnSync(process.execPath, [process.argv[1], ...args], {
        env: { ...process.env, LOOP_CHILD: d },
        encoding: 'utf8',
      })
      if (p.status !== 0) throw new Error(p.stderr)
      results[d].push(JSON.parse(p.stdout))
    }
  }
  console.log(
    `node ${process.version}, ${steps} steps, medians of ${reps} in-process repetitions, then of ${rounds} rounds; load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}; all results bit-identical to the bare loop`,
  )
  console.log(
    '| build | bare CPU µs/step | η | train CPU µs/step | over bare | ratio | steps/s (CPU) |',
  )
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |')
  for (const d of dirs) {
    const m = (k) => median(results[d].map((x) => x[k]))
    const bare = m('bare')
    for (const k of ['const', 'schedule', 'observable', 'cut']) {
      const t = m(k)
      console.log(
        `| ${d} | ${bare.toFixed(3)} | ${k} | ${t.toFixed(3)} | ${(t - bare).toFixed(2)} | ${(t / bare).toFixed(0)}× | ${Math.round(1e6 / t)} |`,
      )
    }
  }
}
