// Does skipping ReLU's zeros pay in W5 (issue 21)? Two measurements, on one kernel thread:
//
// 1. The share of zeros in W5's hidden layers h1 = relu(x·W1 + b1) and h2 = relu(h1·W2 + b2)
//    (δ2 = g ⊙ [h2 > 0] has h2's zeros) at every step of W5's epoch: mlp 784–256–128–10 (ReLU,
//    He, seed 0) trained with `gradient(fn)` and `adam(1e-3)` on `epochBatches` of 128, each
//    step's layers recomputed from that step's parameters.
// 2. The share of non-zeros of a left operand at which the sparse kernel (its compressed rows,
//    gemmKernel's 'always', copies and compression included) costs what the dense one costs
//    ('never'), on W5's three dense products: CPU ms, alternated rounds, random operands.
//
//   npx tsx bench/reluZeros.bench.ts [steps=469] [products=200]
//
// Asserts nothing. Figures and their reading: /work/notes/issue-21-s10-relu.md, bench/RESULTS.md.
import { last, lastValueFrom, pipe } from 'rxjs'
import { loadavg } from 'node:os'
import { epochBatches, matmul, mlp, setKernelThreads, train, type Tensor } from 'gradstream'
import { loadMnist } from 'gradstream/node'
import { adam, gradient, maxSteps } from 'gradstream/operators'
import { gemmKernel } from '../src/tensor/kernels/gemmKernel.js'

const [steps = 469, products = 200] = process.argv.slice(2).map(Number)
const load = () => loadavg()[0].toFixed(2)
setKernelThreads(1)

/** relu(z + b) in place */
const reluBias = (z: Tensor, b: Tensor): Tensor => {
  const n = b.data.length
  for (let i = 0; i < z.data.length; i++) {
    const v = z.data[i] + b.data[i % n]
    z.data[i] = v > 0 ? v : 0
  }
  return z
}
const zeroShare = (t: Tensor) => t.data.reduce((c, v) => c + (v === 0 ? 1 : 0), 0) / t.data.length
const summary = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y)
  const mean = a.reduce((x, y) => x + y, 0) / a.length
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(3)
  return `mean ${mean.toFixed(3)}, p10 ${at(0.1)}, p50 ${at(0.5)}, p90 ${at(0.9)}, min ${at(0)}, max ${at(1)}`
}

console.log(`ReLU's zeros in W5, ${steps} steps, load ${load()}`)
const mnist = loadMnist({ oneHotLabel: true })
const net = mlp({ sizes: [784, 256, 128, 10], seed: 0 })
const shares = { h1: [] as number[], h2: [] as number[] }
const counted = (p: typeof net.params, b: { x: Tensor; t: Tensor }) => {
  const x = { shape: b.x.shape, data: Float64Array.from(b.x.data) }
  const h1 = reluBias(matmul(x, p.W1), p.b1)
  const h2 = reluBias(matmul(h1, p.W2), p.b2)
  shares.h1.push(zeroShare(h1))
  shares.h2.push(zeroShare(h2))
  return net.lossAndGradient(p, b.x, b.t)
}
const final = await lastValueFrom(
  train({
    params: net.params,
    data: epochBatches(mnist.train, { batchSize: 128, seed: 0 }),
    step: pipe(gradient(counted), adam(0.001)),
  }).pipe(maxSteps(steps), last()),
)
console.log(`  zero share of h1 (128×256): ${summary(shares.h1)}`)
console.log(`  zero share of h2 (128×128): ${summary(shares.h2)}`)
console.log(`  (loss after the run ${final.loss}; load ${load()})`)

let seed = 1
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
const matrix = (len: number, density: number) =>
  Float64Array.from({ length: len }, () => (rnd() < density ? rnd() + 0.1 : 0))
const cpu = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
const shapes: [string, number, number, number, boolean, boolean][] = [
  ['h1·W2   (128×256 · 256×128)', 128, 256, 128, false, false],
  ['δ2·W2ᵀ  (128×128 · (256×128)ᵀ)', 128, 128, 256, false, true],
  ['h1ᵀ·δ2  ((128×256)ᵀ · 128×128)', 256, 128, 128, true, false],
]
console.log(`\nsparse / dense time by the left operand's share of non-zeros, load ${load()}`)
console.log(`  ${'product'.padEnd(32)} dense ms  ${[0.2, 0.3, 0.4, 0.5, 0.6, 0.7].join('    ')}`)
for (const [name, m, k, n, transA, transB] of shapes) {
  const B = matrix(k * n, 1)
  const C = new Float64Array(m * n)
  const ratios: string[] = []
  let dense = 0
  for (const d of [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]) {
    const A = matrix(m * k, d)
    const t = { never: [] as number[], always: [] as number[] }
    for (let r = 0; r < 7; r++) {
      for (const mode of r % 2 ? (['never', 'always'] as const) : (['always', 'never'] as const)) {
        const c0 = cpu()
        for (let i = 0; i < products; i++) gemmKernel(A, B, C, m, k, n, transA, transB, mode)
        t[mode].push((cpu() - c0) / products)
      }
    }
    dense = median(t.never)
    ratios.push((median(t.always) / median(t.never)).toFixed(2))
  }
  console.log(`  ${name.padEnd(32)} ${dense.toFixed(3).padStart(8)}  ${ratios.join('   ')}`)
}
console.log(`  (load ${load()})`)
