// The optimizers the resident pass's tests step (test/engine/residentStates.test.ts,
// test/parallel/passThreads.test.ts): every kind of rule it runs — Adam-type, schedule-free and a
// user's own rule with a slot tree — and the test's own deterministic numbers.
import { pipe } from 'rxjs'
import {
  adam,
  adamw,
  applyUpdates,
  elementwise,
  gradientTransform,
  type LeafSlots,
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
