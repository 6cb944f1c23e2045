// What the resident pass's tests share (test/engine/residentStates.test.ts,
// test/parallel/passThreads.test.ts): every kind of rule it runs — Adam-type, schedule-free and a
// user's own rule with a slot tree —, the tests' own deterministic numbers, a state's bits, and
// an mlp trained with adam on image batches.
import { pipe, toArray } from 'rxjs'
import { type mlp, randomBatches, type Tensor, train, type TrainState } from 'gradstream'
import {
  adam,
  adamw,
  applyUpdates,
  elementwise,
  gradient,
  gradientTransform,
  type LeafSlots,
  maxSteps,
  scaleByLearningRate,
  scheduleFreeAdamw,
  scheduleFreeSgd,
} from 'gradstream/operators'
import { mapTree } from '../../src/tree/tree.js'

/** A user's rule with a slot tree: acc ← ρ·acc + (1 − ρ)·g², u = g / (√acc + c). */
const leakyRule = (
  k: { rho: number; c: number },
  g: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
) => {
  const a = k.rho * old.acc[i] + (1 - k.rho) * g * g
  next.acc[i] = a
  return g / (Math.sqrt(a) + k.c)
}

/** A fresh optimizer of each kind, by name. */
export const passOptimizers: Record<string, () => unknown> = {
  adam: () => adam(0.05),
  adamw: () => adamw((k: number) => 0.05 / (1 + k), { weightDecay: 0.1 }),
  scheduleFreeSgd: () => scheduleFreeSgd(0.1, { warmupSteps: 2, weightDecay: 1e-3 }),
  scheduleFreeAdamw: () => scheduleFreeAdamw(0.05, { weightDecay: 1e-2 }),
  custom: () =>
    pipe(
      gradientTransform({
        name: 'leaky',
        hyper: { rho: (k: number) => 0.5 + 0.4 / (1 + k) },
        init: (p) => ({ acc: mapTree(p, () => 0) }),
        update: elementwise({
          trees: ['acc'],
          prepare: (_: unknown, { rho }: { readonly [f: string]: number }) => [{ rho, c: 1e-3 }],
          rule: leakyRule as never,
        }),
      }),
      scaleByLearningRate(0.05),
      applyUpdates(),
    ),
}

/** A number per (seed, i), in [−scale, scale]: the test's own gradients and parameters. */
export const wave = (seed: number, i: number, scale: number) =>
  scale * Math.sin(seed * 12.9898 + i * 78.233 + 0.5)

/** Every number of a state's parameters and slots, as bits (reads them, lazy ones included). */
export function bitsOf(s: { readonly params: unknown; readonly opt: unknown }): string {
  const out: string[] = []
  const f = new Float64Array(1)
  const u = new Uint32Array(f.buffer)
  const walk = (v: unknown, path: string) => {
    if (v instanceof Float64Array) {
      for (let i = 0; i < v.length; i++) ((f[0] = v[i]), out.push(`${path}${i}:${u[0]},${u[1]}`))
    } else if (typeof v === 'number') ((f[0] = v), out.push(`${path}:${u[0]},${u[1]}`))
    else if (typeof v === 'object' && v !== null) {
      for (const k of Object.keys(v).sort()) walk((v as Record<string, unknown>)[k], `${path}.${k}`)
    }
  }
  walk({ params: s.params, opt: s.opt }, '')
  return out.join(' ')
}

/** `steps` states of `net` trained with adam(0.01) on `data`'s batches (synchronous). */
export function mlpAdamRun(
  net: ReturnType<typeof mlp>,
  data: { x: Tensor; t: Tensor },
  opts: { batchSize: number; seed: number; steps: number },
): TrainState[] {
  let out: TrainState[] = []
  train({
    params: net.params,
    data: randomBatches(data, { batchSize: opts.batchSize, seed: opts.seed }),
    step: pipe(
      gradient((p: typeof net.params, b: { x: Tensor; t: Tensor }) =>
        net.lossAndGradient(p, b.x, b.t),
      ),
      adam(0.01),
    ),
  })
    .pipe(maxSteps(opts.steps), toArray())
    .subscribe((v) => (out = v))
  return out
}
