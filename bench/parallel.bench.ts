// W2 on both cores: twoLayerNetNumericalGradientParallel (the incremental probes of
// twoLayerNetNumericalGradient split across worker threads). `npm run bench -- --only W2` runs it
// beside the one-thread row and NumPy; alone: `npx tsx bench/parallel.bench.ts`.
import { availableParallelism } from 'node:os'
import {
  planProbes,
  probeCount,
  runProbes,
} from '../src/nn/twoLayerNetNumericalGradientInternals.js'
import { costCuts, TASKS_PER_THREAD } from '../src/parallel/poolInternals.js'
import { twoLayerNet } from 'gradstream'
import { closeWorkers, loadMnist, twoLayerNetNumericalGradientParallel } from 'gradstream/node'

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
  const grad = () =>
    twoLayerNetNumericalGradientParallel(net.params, mnist.train.x, mnist.train.t, {
      loss: 'crossEntropy',
    })
  const t0 = now()
  const g = await grad()
  const seconds = now() - t0
  const t1 = now()
  await grad()
  const warmSeconds = now() - t1
  await closeWorkers()
  const estimate = twoCoreEstimate(net.params, mnist.train.x, mnist.train.t)
  let sq = 0
  for (const t of [g.W1, g.b1, g.W2, g.b2]) for (const v of t.data) sq += v * v
  return {
    seconds,
    units: 1,
    warmSeconds,
    threads: availableParallelism(),
    ...estimate,
    gradNorm: Math.sqrt(sq),
  }
}

/**
 * What two free cores would give, measured on this thread alone so that other processes' load
 * matters less: the whole gradient once (`oneThreadSeconds`), then each of the parallel call's
 * slices timed in turn (after one warm-up run; medians of 5 rounds), assigned to two threads as the pool does (the next slice to the thread
 * free first) — `twoCoreEstimate` is when the later thread would finish (worker start-up and
 * the copy into shared memory not included).
 */
function twoCoreEstimate(...args: Parameters<typeof twoLayerNetNumericalGradientParallel>) {
  const [params, x, t] = args
  const plan = planProbes('bench', params, x, t, { loss: 'crossEntropy' })
  const P = probeCount(plan)
  const out = () => ({
    W1: new Float64Array(plan.D * plan.H),
    b1: new Float64Array(plan.H),
    W2: new Float64Array(plan.H * plan.C),
    b2: new Float64Array(plan.C),
  })
  runProbes(plan, 0, P, out()) // warm-up (this thread has not run the probes yet)
  const cuts = costCuts(plan, 2 * TASKS_PER_THREAD)
  const ones: number[] = []
  const twos: number[] = []
  for (let round = 0; round < 5; round++) {
    let t0 = now()
    runProbes(plan, 0, P, out())
    ones.push(now() - t0)
    const free = [0, 0]
    for (let i = 1; i < cuts.length; i++) {
      t0 = now()
      runProbes(plan, cuts[i - 1], cuts[i], out())
      free[free[0] <= free[1] ? 0 : 1] += now() - t0
    }
    twos.push(Math.max(...free))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const oneThreadSeconds = median(ones)
  const twoCoreEstimate = median(twos)
  return { oneThreadSeconds, twoCoreEstimate, estimatedSpeedUp: oneThreadSeconds / twoCoreEstimate }
}

if (process.argv[1]?.endsWith('parallel.bench.ts')) console.log(await run())
