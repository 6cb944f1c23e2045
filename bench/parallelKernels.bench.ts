// Where do two threads pay for a product? Times matmul on one thread (the wasm kernels) and on two
// (setKernelThreads(2), forced to split every product) for shapes from W3's step up to
// net.accuracy's chunks, dense and sparse (MNIST images), interleaved, and prints per-product
// medians and the speed-up. Checks the two results are equal bit for bit.
//
//   npx tsx bench/parallelKernels.bench.ts [--reps 7] [--quick]
// (tsx is fine here: the time is inside the wasm kernels.)
import { loadMnist, matmul, setKernelThreads, closeWorkers, type Tensor } from 'gradstream'
import { loadavg } from 'node:os'
import { largeProducts } from '../src/tensor/kernels/gemmKernel.js'
import { runLarge, tuning } from '../src/parallel/sharedKernels.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const reps = arg('--reps', 7)
const quick = process.argv.includes('--quick')

const mnist = loadMnist({ oneHotLabel: true, trainSize: 3000, testSize: 1 })
let seed = 1
const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646 - 0.5
const dense = (r: number, c: number): Tensor => ({
  shape: [r, c],
  data: Float64Array.from({ length: r * c }, rand),
})
const images = (r: number): Tensor => ({
  shape: [r, 784],
  data: mnist.train.x.data.slice(0, r * 784),
})

interface Case {
  name: string
  a: Tensor
  b: Tensor
  opts?: { transposeA?: boolean }
}
const cases: Case[] = []
for (const m of quick ? [100, 1000] : [25, 50, 100, 200, 400, 1000, 2674]) {
  cases.push({ name: `x[${m}×784]·W1[784×50] sparse`, a: images(m), b: dense(784, 50) })
  cases.push({ name: `dense [${m}×784]·[784×50]`, a: dense(m, 784), b: dense(784, 50) })
}
cases.push({
  name: 'xᵀ·δ1 [784×100]·[100×50] sparse (W3 backward)',
  a: images(100),
  b: dense(100, 50),
  opts: { transposeA: true },
})
cases.push({ name: 'z1·W2 [100×50]·[50×10] dense (W3)', a: dense(100, 50), b: dense(50, 10) })
cases.push({ name: 'dense [100×50]·[50×784]', a: dense(100, 50), b: dense(50, 784) })
cases.push({ name: 'dense [500×500]·[500×500]', a: dense(500, 500), b: dense(500, 500) })

setKernelThreads(2)
const two = largeProducts.run
tuning.denseMinWork = 0
tuning.sparseMinWork = 0
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]

/** µs per product: enough products for ~20 ms. */
function time(c: Case): number {
  let n = 1
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) matmul(c.a, c.b, c.opts)
    const dt = performance.now() - t0
    if (dt > 20) return (dt / n) * 1000
    n *= 2
  }
}

console.log(
  `load before: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
)
console.log('| product | multiply-adds | 1 thread µs | 2 threads µs | speed-up | same bits |')
console.log('| --- | ---: | ---: | ---: | ---: | --- |')
for (const c of cases) {
  const one: number[] = []
  const both: number[] = []
  largeProducts.run = null
  const want = matmul(c.a, c.b, c.opts)
  largeProducts.run = two
  largeProducts.minWork = 0
  const got = matmul(c.a, c.b, c.opts)
  const same = want.data.every((v, i) => Object.is(v, got.data[i]))
  for (let r = 0; r < reps; r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      largeProducts.run = on ? two : null
      ;(on ? both : one).push(time(c))
    }
  }
  const [m, k] = c.opts?.transposeA ? [c.a.shape[1], c.a.shape[0]] : c.a.shape
  const work = m * k * c.b.shape[1]
  const t1 = median(one)
  const t2 = median(both)
  console.log(
    `| ${c.name} | ${work.toExponential(2)} | ${t1.toFixed(1)} | ${t2.toFixed(1)} | ${(t1 / t2).toFixed(2)}× | ${same ? 'yes' : 'NO'} |`,
  )
}
console.log(
  `load after: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
)
await closeWorkers()
