// Where do two threads pay for a product? Times matmul on one thread (the wasm kernels) and on two
// (setKernelThreads(2), forced to split every product) for shapes from W3's step up to
// net.accuracy's chunks, dense and sparse (MNIST images), interleaved, and prints per-product
// medians and the speed-up. Checks the two results are equal bit for bit.
//
//   npx tsx bench/parallelKernels.bench.ts [--reps 7] [--quick]
// (tsx is fine here: the time is inside the wasm kernels.)
import { matmul, setKernelThreads, twoLayerNet, type Tensor } from 'gradstream'
import { loadMnist, closeWorkers } from 'gradstream/node'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { largeProducts } from '../src/tensor/kernels/gemmKernel.js'
import { runLarge, tuning } from '../src/parallel/sharedKernels.js'

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? d : Number(process.argv[i + 1])
}
const reps = arg('--reps', 15)
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

/**
 * Are two cores free right now? A floating-point loop run as one process, then as two at once:
 * the throughput ratio (2.0 = two free cores; ≈ 1 = the other engineers' load or shared
 * execution units leave one core's worth).
 */
function coresCheck(): string {
  const loop =
    'function f(){let a=0,b=0,c=0,d=0;const x=1.0000001;for(let i=0;i<2e8;i++){a=a*x+1;b=b*x+2;c=c*x+3;d=d*x+4}return a+b+c+d}const t=performance.now();f();console.log(performance.now()-t)'
  const one = () =>
    Number(execFileSync(process.execPath, ['-e', loop], { encoding: 'utf8' }).split(' ')[0])
  const t1 = one()
  const t0 = performance.now()
  execFileSync('sh', ['-c', `node -e '${loop}' & node -e '${loop}' & wait`])
  const t2 = performance.now() - t0
  return `two copies of a float loop ran at ${((2 * t1) / t2).toFixed(2)}× the throughput of one (${t1.toFixed(0)} ms alone, ${t2.toFixed(0)} ms for both)`
}

const defaults = { ...tuning }
setKernelThreads(2)
const two = largeProducts.run
tuning.denseMinWork = 0
tuning.sparseMinWork = 0
tuning.transposedSparseMinWork = 0
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]

/** Products per timed block: enough for ~5 ms on one thread. */
function blockSize(c: Case): number {
  let n = 1
  for (;;) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) matmul(c.a, c.b, c.opts)
    if (performance.now() - t0 > 5) return n
    n *= 2
  }
}

/** µs per product over one block of n. */
function time(c: Case, n: number): number {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) matmul(c.a, c.b, c.opts)
  return ((performance.now() - t0) / n) * 1000
}

console.log(
  `load before: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}; ${coresCheck()}`,
)
console.log(
  '| product | multiply-adds | 1 thread µs median (min) | 2 threads µs median (min) | speed-up median (min) | same bits |',
)
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
  largeProducts.run = null
  const n = blockSize(c)
  for (let r = 0; r < reps; r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      largeProducts.run = on ? two : null
      ;(on ? both : one).push(time(c, n))
    }
  }
  const [m, k] = c.opts?.transposeA ? [c.a.shape[1], c.a.shape[0]] : c.a.shape
  const work = m * k * c.b.shape[1]
  const [t1, m1] = [median(one), Math.min(...one)]
  const [t2, m2] = [median(both), Math.min(...both)]
  console.log(
    `| ${c.name} | ${work.toExponential(2)} | ${t1.toFixed(0)} (${m1.toFixed(0)}) | ${t2.toFixed(0)} (${m2.toFixed(0)}) | ${(t1 / t2).toFixed(2)}× (${(m1 / m2).toFixed(2)}×) | ${same ? 'yes' : 'NO'} |`,
  )
}
// net.accuracy over the 60,000 training images at the default crossover (x·W1 in chunks of
// 2,674 rows, z1·W2 in chunks of 41,943: each chunk split), interleaved
if (!quick) {
  Object.assign(tuning, defaults)
  largeProducts.minWork = Math.min(
    defaults.denseMinWork,
    defaults.sparseMinWork,
    defaults.transposedSparseMinWork,
  )
  const full = loadMnist({ oneHotLabel: true })
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
  const one: number[] = []
  const both: number[] = []
  const acc = [0, 0]
  for (let r = 0; r < Math.max(3, reps >> 2); r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      largeProducts.run = on ? two : null
      const t0 = performance.now()
      acc[on ? 1 : 0] = net.accuracy(net.params, full.train.x, full.train.t)
      ;(on ? both : one).push(performance.now() - t0)
    }
  }
  const [t1, m1] = [median(one), Math.min(...one)]
  const [t2, m2] = [median(both), Math.min(...both)]
  console.log(
    `| net.accuracy, 60,000 training images (ms) | 2.36e+9 | ${t1.toFixed(0)} (${m1.toFixed(0)}) | ${t2.toFixed(0)} (${m2.toFixed(0)}) | ${(t1 / t2).toFixed(2)}× (${(m1 / m2).toFixed(2)}×) | ${acc[0] === acc[1] ? 'yes' : 'NO'} |`,
  )
}

/**
 * CPU time per call, ms: of the whole process and of the calling thread alone (Linux
 * /proc/self/task/<pid>/stat, 10 ms ticks, so over ≥ 1 s of calls). With two threads the rest is
 * the helper's; max(caller, helper) is how long the call would take on two free cores — an
 * estimate of the speed-up independent of the other engineers' load.
 */
function cpuSplit(f: () => unknown, calls: number): { all: number; caller: number } {
  const tick = () => {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
      .split(') ')[1]
      .split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10 // utime + stime, ms at 100 Hz
  }
  const c0 = process.cpuUsage()
  const m0 = tick()
  for (let i = 0; i < calls; i++) f()
  const c = process.cpuUsage(c0)
  return { all: (c.user + c.system) / 1000 / calls, caller: (tick() - m0) / calls }
}

if (!quick && process.platform === 'linux') {
  console.log('\nCPU split (two threads, default crossover; ms of CPU per call):')
  console.log(
    '| call | 1 thread CPU | 2 threads: caller CPU | helper CPU | two-core estimate | estimated speed-up |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  Object.assign(tuning, defaults)
  largeProducts.minWork = Math.min(
    defaults.denseMinWork,
    defaults.sparseMinWork,
    defaults.transposedSparseMinWork,
  )
  const full = loadMnist({ oneHotLabel: true })
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
  const calls: [string, () => unknown, number][] = [
    ...cases
      .filter((c) => c.a.data.length * c.b.shape[1] >= 1e7)
      .map((c): [string, () => unknown, number] => [
        c.name,
        () => matmul(c.a, c.b, c.opts),
        Math.max(20, Math.round(2e9 / (c.a.data.length * c.b.shape[1]))),
      ]),
    [
      'net.accuracy, 60,000 training images',
      () => net.accuracy(net.params, full.train.x, full.train.t),
      4,
    ],
  ]
  for (const [name, f, n] of calls) {
    largeProducts.run = null
    const one = cpuSplit(f, n)
    largeProducts.run = two
    const split = cpuSplit(f, n)
    const helperCpu = split.all - split.caller
    const est = Math.max(split.caller, helperCpu)
    console.log(
      `| ${name} | ${one.all.toFixed(1)} | ${split.caller.toFixed(1)} | ${helperCpu.toFixed(1)} | ${est.toFixed(1)} | ${(one.all / est).toFixed(2)}× |`,
    )
  }
}
console.log(
  `load after: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}; ${coresCheck()}`,
)
await closeWorkers()
