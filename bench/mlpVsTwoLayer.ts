// `npx tsx bench/mlpVsTwoLayer.ts [steps] [rounds] [threads] [--built]`: W3's training
// (784–50–10 sigmoid, SGD 0.1, batch 100, through `train`) with twoLayerNet's gradient and with
// `mlp({ sizes: [784, 50, 10], activation: 'sigmoid', init: 0.01 })`'s — since session 12 both a
// recipe over the same autodiff tape, so the two now measure the nets' code around it — alternated
// in one process (rounds of `steps` steps each, A B B A …) so a shared machine's load falls on
// both alike; prints each round's wall and CPU time (the process's, all threads) and the medians.
// The two train to the same loss bit for bit (before session 12, when twoLayerNet had a hand-fused
// gradient, they parted by one ulp between 2,000 and 5,000 steps). `--built`: this file bundled
// against the sources as bench/run.ts bundles its workloads (bench/bundle.ts), run on plain node.
import { last, lastValueFrom, pipe } from 'rxjs'
import { mlp, randomBatches, setKernelThreads, train, twoLayerNet, type Tensor } from 'gradstream'
import { closeWorkers, loadMnist } from 'gradstream/node'
import { gradient, maxSteps, update } from 'gradstream/operators'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
if (args.includes('--built')) {
  const { bundleEntry } = await import('./bundle.js')
  const here = dirname(fileURLToPath(import.meta.url))
  const outfile = join(here, 'out', 'mlpVsTwoLayer.mjs')
  mkdirSync(join(here, 'out'), { recursive: true })
  const contents = readFileSync(fileURLToPath(import.meta.url), 'utf8')
  await bundleEntry(join(here, '..'), { contents, resolveDir: here, outfile })
  const rest = args.filter((a) => a !== '--built')
  process.exit(spawnSync(process.execPath, [outfile, ...rest], { stdio: 'inherit' }).status ?? 1)
}
const [steps = 2000, rounds = 5] = args.slice(0, 2).map(Number)
const threads = (args[2] ?? '1') === 'auto' ? 'auto' : (Number(args[2] ?? 1) as 1 | 2)
setKernelThreads(threads)
const mnist = loadMnist({ oneHotLabel: true })
const two = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
const net = mlp({ sizes: [784, 50, 10], activation: 'sigmoid', init: 0.01, seed: 0 })
type P = Record<string, Tensor>
const nets: Record<string, (p: P, x: Tensor, t: Tensor) => { loss: number; grad: P }> = {
  twoLayerNet: (p, x, t) => two.lossAndGradient(p as typeof two.params, x, t),
  mlp: net.lossAndGradient,
}

async function run(name: string) {
  const lossAndGradient = nets[name]
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const final = await lastValueFrom(
    train({
      params: (name === 'mlp' ? net.params : two.params) as P,
      data: randomBatches(mnist.train, { batchSize: 100, seed: 0 }),
      step: pipe(
        gradient((p: P, b: { x: Tensor; t: Tensor }) => lossAndGradient(p, b.x, b.t)),
        update(0.1),
      ),
    }).pipe(maxSteps(steps), last()),
  )
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  return { wall, cpu: (c.user + c.system) / 1e6, loss: final.loss }
}

const times: Record<string, { wall: number[]; cpu: number[] }> = {
  twoLayerNet: { wall: [], cpu: [] },
  mlp: { wall: [], cpu: [] },
}
console.log(
  `${steps} steps a run, ${rounds} rounds, threads ${threads}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 === 0 ? ['twoLayerNet', 'mlp'] : ['mlp', 'twoLayerNet']) {
    const { wall, cpu, loss } = await run(name)
    times[name].wall.push(wall)
    times[name].cpu.push(cpu)
    console.log(
      `  ${name.padEnd(12)} ${wall.toFixed(3)} s wall, ${cpu.toFixed(3)} s CPU, loss ${loss}`,
    )
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const m = (n: string, k: 'wall' | 'cpu') => median(times[n][k])
console.log(
  `median: wall ${m('mlp', 'wall').toFixed(3)} / ${m('twoLayerNet', 'wall').toFixed(3)} = ${(m('mlp', 'wall') / m('twoLayerNet', 'wall')).toFixed(3)}x, ` +
    `CPU ${m('mlp', 'cpu').toFixed(3)} / ${m('twoLayerNet', 'cpu').toFixed(3)} = ${(m('mlp', 'cpu') / m('twoLayerNet', 'cpu')).toFixed(3)}x; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
)
setKernelThreads('auto')
await closeWorkers()
