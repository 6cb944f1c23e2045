/**
 * Soak: one long synchronous run (default 10,000,000 steps) of a full step pipeline —
 * perturb(central differences) → loss → gradient → momentum — with nothing keeping old states,
 * sampling the heap every tenth of the run. Memory must stay flat: the driver is a trampoline
 * (no recursion, no growing queue) and every state is dropped once the next one exists.
 * Prints the heap before, at each sample and after (after a forced GC when run with
 * --expose-gc), and the speed against a hand-written loop doing the same arithmetic in the same
 * run (the peer). Not a test: nothing here asserts a time.
 *
 *   npx tsx --expose-gc bench/soak.bench.ts [steps]
 *
 * `run(steps)` is exported so a test can run a short soak.
 */
import { tap, type Observable } from 'rxjs'
import { pathToFileURL } from 'node:url'
import { tensor, train, type Tensor, type TrainState } from 'gradstream'
import {
  centralDifference,
  gradient,
  loss,
  maxSteps,
  momentum,
  perturb,
} from 'gradstream/operators'

export interface SoakResult {
  readonly steps: number
  readonly seconds: number
  /** MB of heap used before the run, at each tenth of it, and after */
  readonly heapBeforeMB: number
  readonly heapSamplesMB: readonly number[]
  readonly heapAfterMB: number
  readonly finalParams: readonly number[]
  /** steps per second of the same arithmetic in a plain loop */
  readonly peerStepsPerSecond: number
}

const f = (x: Tensor) => (x.data[0] - 1) ** 2 + 10 * (x.data[1] + 2) ** 2
const heapMB = () => {
  ;(globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage().heapUsed / 2 ** 20
}

/** The same updates as the pipeline, written as a plain loop (central differences, momentum). */
function peer(steps: number): number {
  const x = [0, 0]
  const v = [0, 0]
  const h = 1e-4
  const g = [0, 0]
  const fa = (a: number, b: number) => (a - 1) ** 2 + 10 * (b + 2) ** 2
  const t0 = performance.now()
  for (let s = 0; s < steps; s++) {
    g[0] = (fa(x[0] + h, x[1]) - fa(x[0] - h, x[1])) / (2 * h)
    g[1] = (fa(x[0], x[1] + h) - fa(x[0], x[1] - h)) / (2 * h)
    for (let i = 0; i < 2; i++) {
      v[i] = 0.9 * v[i] - 0.001 * g[i]
      x[i] += v[i]
    }
  }
  const seconds = (performance.now() - t0) / 1000
  if (!Number.isFinite(x[0])) throw new Error('peer diverged')
  return steps / seconds
}

/** Runs `steps` synchronous steps, sampling the heap ten times. */
export function run(steps = 10_000_000): SoakResult {
  const every = Math.max(1, Math.floor(steps / 10))
  const samples: number[] = []
  const before = heapMB()
  const t0 = performance.now()
  let last: TrainState<Tensor> | null = null
  const run$: Observable<TrainState<Tensor>> = train({
    params: tensor([0, 0]),
    step: (s$) =>
      s$.pipe(perturb(centralDifference()), loss(f), gradient(), momentum(0.001, { beta: 0.9 })),
  }).pipe(
    maxSteps(steps),
    tap((s) => {
      if (s.step % every === 0 && s.step > 0) samples.push(process.memoryUsage().heapUsed / 2 ** 20)
    }),
  )
  run$.subscribe((s) => (last = s))
  const seconds = (performance.now() - t0) / 1000
  const finalParams = [...(last as TrainState<Tensor> | null)!.params.data]
  last = null
  const after = heapMB()
  return {
    steps,
    seconds,
    heapBeforeMB: before,
    heapSamplesMB: samples,
    heapAfterMB: after,
    finalParams,
    peerStepsPerSecond: peer(Math.min(steps, 2_000_000)),
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const steps = Number(process.argv[2] ?? 10_000_000)
  const r = run(steps)
  const rate = r.steps / r.seconds
  const mb = (x: number) => `${x.toFixed(1)} MB`
  console.log(
    `soak: ${r.steps.toLocaleString('en')} synchronous steps in ${r.seconds.toFixed(1)} s`,
  )
  console.log(
    `heap before ${mb(r.heapBeforeMB)}, after ${mb(r.heapAfterMB)} (${(globalThis as { gc?: unknown }).gc ? 'after GC' : 'no --expose-gc: without forced GC'})`,
  )
  console.log(
    `heap at each tenth: ${r.heapSamplesMB.map((x) => x.toFixed(1)).join(', ')} MB (max ${mb(Math.max(...r.heapSamplesMB))})`,
  )
  console.log(`final params ${r.finalParams.join(', ')} (minimum at 1, -2)`)
  console.log(
    `speed: gradstream ${Math.round(rate).toLocaleString('en')} steps/s, plain loop ${Math.round(r.peerStepsPerSecond).toLocaleString('en')} steps/s (ratio ${(r.peerStepsPerSecond / rate).toFixed(1)}×)`,
  )
}
