// W2 on both cores: twoLayerNetNumericalGradientParallel (the incremental probes of
// twoLayerNetNumericalGradient split across worker threads). `npm run bench -- --only W2` runs it
// beside the one-thread row and NumPy; alone: `npx tsx bench/parallel.bench.ts`.
import { availableParallelism } from 'node:os'
import {
  closeWorkers,
  loadMnist,
  twoLayerNet,
  twoLayerNetNumericalGradientParallel,
} from 'gradstream'

export const workload = 'W2'
export const label = 'incremental, worker threads'

const now = () => performance.now() / 1000

/**
 * The same gradient as W2's one-thread row (784–50–10, the first 100 training images, seed 0).
 * `seconds` is the first call, worker start-up included (each worker loads gradstream and
 * compiles its kernels); `warmSeconds` a second call on the started pool.
 */
export async function run() {
  const mnist = loadMnist({ oneHotLabel: true, trainSize: 100, testSize: 1 })
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
  const grad = () => twoLayerNetNumericalGradientParallel(net.params, mnist.train.x, mnist.train.t)
  const t0 = now()
  const g = await grad()
  const seconds = now() - t0
  const t1 = now()
  await grad()
  const warmSeconds = now() - t1
  await closeWorkers()
  let sq = 0
  for (const t of [g.W1, g.b1, g.W2, g.b2]) for (const v of t.data) sq += v * v
  return {
    seconds,
    units: 1,
    warmSeconds,
    threads: availableParallelism(),
    gradNorm: Math.sqrt(sq),
  }
}

if (process.argv[1]?.endsWith('parallel.bench.ts')) console.log(await run())
