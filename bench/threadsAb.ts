// Issue 21 (W5, both cores): measurements behind bench/RESULTS.md's "Issue 21 W5 threads, session 7
// (s7-threads)". Run from the repository root:
//   npx tsx bench/threadsAb.ts held [rounds]  the held batch's products (x·W1, xᵀ·δ1 of W5) on one
//                                             thread and split with the helper, rounds alternated
//   npx tsx bench/threadsAb.ts step [rounds]  W5's gradient call on 1 and 2 kernel threads, alternated
//   npx tsx bench/threadsAb.ts rows           drawing + gathering epochBatches(128) and
//                                             randomBatches(100) batches: CPU per batch by pass
// (bundled as bench/run.ts bundles, tsx's per-closure cost is gone: see RESULTS for the figures)
import { closeWorkers, loadMnist } from '../src/node.js'
import { epochBatches, mlp, randomBatches, setKernelThreads, type Tensor } from '../src/index.js'
import { gatheredFrom } from '../src/tensor/gatheredRows.js'
import {
  gemmHeld,
  holdGathered,
  largeProducts,
  releaseHeld,
} from '../src/tensor/kernels/gemmKernel.js'
import { runLarge, sharedHold } from '../src/parallel/sharedKernels.js'

type Batch = { x: Tensor; t: Tensor }
const mode = process.argv[2] ?? 'held'
const rounds = Number(process.argv[3] ?? 8)
const mnist = loadMnist({ oneHotLabel: true })
const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]
const ms = (x: number[]) => `${med(x).toFixed(3)} (min ${Math.min(...x).toFixed(3)})`
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000

function epoch(n: number): Batch[] {
  const it = epochBatches(mnist.train, { batchSize: 128, seed: 0 })[Symbol.iterator]()
  return Array.from({ length: n }, () => it.next().value as Batch)
}

function held() {
  const batches = epoch(40)
  let s = 1
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5
  const W1 = Float64Array.from({ length: 784 * 256 }, rnd)
  const D1 = Float64Array.from({ length: 128 * 256 }, rnd)
  const C = new Float64Array(128 * 256)
  const G = new Float64Array(784 * 256)
  setKernelThreads(2)
  const res = {
    1: { fwd: [] as number[], bwd: [] as number[], cpu: [] as number[] },
    2: { fwd: [] as number[], bwd: [] as number[], cpu: [] as number[] },
  }
  for (let round = 0; round < rounds; round++) {
    for (const t of [1, 2] as const) {
      largeProducts.run = t === 2 ? runLarge : null
      largeProducts.hold = t === 2 ? sharedHold : null
      const c0 = process.cpuUsage()
      for (const b of batches) {
        const h = holdGathered(gatheredFrom(b.x)!)!
        const t1 = performance.now()
        gemmHeld(h, () => b.x.data, W1, C, 256, false, false)
        const t2 = performance.now()
        gemmHeld(h, () => b.x.data, D1, G, 256, true, false)
        res[t].bwd.push(performance.now() - t2)
        res[t].fwd.push(t2 - t1)
        releaseHeld(h)
      }
      res[t].cpu.push(cpuMs(process.cpuUsage(c0)) / batches.length)
    }
  }
  for (const t of [1, 2] as const) {
    console.log(
      `threads ${t}: x·W1 ${ms(res[t].fwd)} ms, xᵀ·δ1 ${ms(res[t].bwd)} ms, CPU per batch (hold + both) ${med(res[t].cpu).toFixed(3)} ms`,
    )
  }
}

function step() {
  const net = mlp({ sizes: [784, 256, 128, 10], seed: 0 })
  const batches = epoch(30)
  const res = {
    1: { wall: [] as number[], cpu: [] as number[] },
    2: { wall: [] as number[], cpu: [] as number[] },
  }
  let sink = 0
  for (let r = 0; r < rounds; r++) {
    for (const t of [1, 2] as const) {
      setKernelThreads(t)
      for (const b of batches.slice(0, 5)) sink += net.lossAndGradient(net.params, b.x, b.t).loss
      const c0 = process.cpuUsage()
      for (const b of batches) {
        const t0 = performance.now()
        sink += net.lossAndGradient(net.params, b.x, b.t).loss
        res[t].wall.push(performance.now() - t0)
      }
      res[t].cpu.push(cpuMs(process.cpuUsage(c0)) / batches.length)
    }
  }
  for (const t of [1, 2] as const) {
    console.log(
      `threads ${t}: W5 gradient call ${ms(res[t].wall)} ms, CPU ${med(res[t].cpu).toFixed(3)} ms a call`,
    )
  }
  if (sink === 0) console.log('')
}

function rows() {
  for (const kind of ['epoch', 'random'] as const) {
    const src =
      kind === 'epoch'
        ? epochBatches(mnist.train, { batchSize: 128, seed: 0 })
        : randomBatches(mnist.train, { batchSize: 100, seed: 0 })
    const it = src[Symbol.iterator]()
    const per = kind === 'epoch' ? 469 : 2000
    for (let pass = 0; pass < (kind === 'epoch' ? 2 : 5); pass++) {
      const c0 = process.cpuUsage()
      for (let i = 0; i < per; i++) {
        const b = it.next().value as Batch
        releaseHeld(holdGathered(gatheredFrom(b.x)!)!)
      }
      const c = process.cpuUsage(c0)
      console.log(
        `${kind} pass ${pass}: CPU user ${(c.user / 1000 / per).toFixed(3)} + sys ${(c.system / 1000 / per).toFixed(3)} ms a batch (draw + gather)`,
      )
    }
  }
}

if (mode === 'held') held()
else if (mode === 'step') step()
else rows()
setKernelThreads('auto')
await closeWorkers()
