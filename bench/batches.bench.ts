/**
 * W3's step with its batch drawn two ways, alternated in one process so that the machine's drift
 * hits both alike: rows copied into a dense 627 KB batch (compressed again by the step), and rows
 * drawn through a row cache (src/tensor/gatheredRows.ts: compressed the first time they are drawn,
 * gathered straight into wasm memory by the step). The same batches, the same
 * `net.lossAndGradient` and SGD update (`addScaledData`, as `update(0.1)` runs it), the same bits
 * (the final losses are printed). Self-contained, no peers:
 *
 *     npx tsx bench/batches.bench.ts [blocks]     (blocks of 250 steps per way, default 24)
 *
 * The first block of each way is warm-up and not counted; the cache's rows are compressed during
 * the first blocks and that cost is counted, as a run pays it.
 */
import { loadMnist } from '../src/data/loadMnist.js'
import { twoLayerNet } from '../src/nn/twoLayerNet.js'
import { rng } from '../src/random/rng.js'
import { rowCache, takeRows } from '../src/tensor/gatheredRows.js'
import { addScaledData } from '../src/tensor/kernels/addScaledKernel.js'
import type { Tensor } from '../src/tensor/tensor.js'

const blocks = Number(process.argv[2] ?? 24)
const BLOCK = 250
const mnist = loadMnist({ oneHotLabel: true })
const cache = rowCache(mnist.train.x)
const ways = ['dense', 'compressed'] as const
type Way = (typeof ways)[number]

const state = {} as Record<Way, { p: Params; loss: number; ms: number }>
type Params = ReturnType<typeof twoLayerNet>['params']
const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
for (const w of ways) state[w] = { p: net.params, loss: NaN, ms: 0 }
// each way draws the same sequence of batches from its own generator
const draw = { dense: rng(1), compressed: rng(1) }
const idx = new Int32Array(100)

function step(way: Way): void {
  const r = draw[way]
  for (let k = 0; k < idx.length; k++) idx[k] = r.int(60000)
  const x = takeRows(mnist.train.x, idx, 0, idx.length, way === 'compressed' ? cache : null)
  const t = takeRows(mnist.train.t, idx)
  const s = state[way]
  const { loss, grad } = net.lossAndGradient(s.p, x, t)
  const next = {} as Record<keyof Params, Tensor>
  for (const key of ['W1', 'b1', 'W2', 'b2'] as const) {
    next[key] = { shape: s.p[key].shape, data: addScaledData(s.p[key].data, grad[key].data, -0.1) }
  }
  s.p = next as Params
  s.loss = loss
}

for (let b = 0; b < blocks; b++) {
  // the order alternates, so neither way always runs right after the other
  for (const way of b % 2 === 0 ? ways : [...ways].reverse()) {
    const t0 = performance.now()
    for (let i = 0; i < BLOCK; i++) step(way)
    if (b > 0) state[way].ms += performance.now() - t0
  }
}
const steps = BLOCK * (blocks - 1)
const us = (w: Way) => (state[w].ms * 1000) / steps
console.log(`W3 step, ${steps} steps a way after ${BLOCK} of warm-up (µs a step, batch included):`)
console.log(`| batch drawn | µs a step | ratio | loss after ${BLOCK * blocks} steps |`)
console.log('| --- | ---: | ---: | --- |')
for (const w of ways) {
  console.log(
    `| ${w} | ${us(w).toFixed(0)} | ${(us(w) / us('dense')).toFixed(3)}× | ${state[w].loss} |`,
  )
}
