import { lastValueFrom, type OperatorFunction, pipe, tap, toArray } from 'rxjs'
import { expect } from 'vitest'
import { matmul, mlp, randomBatches, train, twoLayerNet, type Tensor } from 'gradstream'
import { gradient, maxSteps, update } from 'gradstream/operators'
import { setKeptSums } from '../../src/tensor/keptSums.js'
import { type images, same } from './sparseRows.js'

// W3's pipeline on a small net with the update's kept sums on or off (src/tensor/keptSums.ts),
// and the check that a kept run's states, read late in any order, are the fresh run's bit for
// bit: shared by keptSums.test.ts and unhomedSums.test.ts.

export type KeptNet = ReturnType<typeof mlp>
type P = KeptNet['params']
export type KeptState = { readonly params: P; readonly loss: number }

/** A small net of `kind` ('mlp': sigmoid, init 0.1; else twoLayerNet), 784–`hidden`–10. */
export function keptNet(kind: string, seed: number, hidden: number): KeptNet {
  return kind === 'mlp'
    ? mlp({ sizes: [784, hidden, 10], activation: 'sigmoid', init: 0.1, seed })
    : (twoLayerNet({
        inputSize: 784,
        hiddenSize: hidden,
        outputSize: 10,
        seed,
      }) as unknown as KeptNet)
}

const noise = {
  shape: [300, 784],
  data: Float64Array.from({ length: 300 * 784 }, (_, i) => Math.sin(i)),
}
const right = {
  shape: [784, 40],
  data: Float64Array.from({ length: 784 * 40 }, (_, i) => Math.cos(i)),
}

/** Other work between steps: a 300×784 dense batch times 784×40, laid out over the whole arena. */
export function otherProduct(): void {
  matmul(noise, right)
}

/**
 * `steps` steps of `gradient(net.lossAndGradient)` then `step()` (default `update(0.1)`) on
 * batches of 30 drawn with `seed`, kept sums on or off: the states. `readEach` reads every
 * state's parameters as it is emitted; `between(step)` runs after each.
 */
export async function keptRun(
  net: { params: P; lossAndGradient: KeptNet['lossAndGradient'] },
  data: ReturnType<typeof images>,
  seed: number,
  steps: number,
  kept: boolean,
  step: () => OperatorFunction<any, any> = () => update(0.1),
  readEach = false,
  between: (i: number) => void = () => {},
): Promise<KeptState[]> {
  const was = setKeptSums(kept)
  try {
    const all = await lastValueFrom(
      train({
        params: net.params,
        data: randomBatches(data, { batchSize: 30, seed }),
        step: pipe(
          gradient((p: P, b: { x: Tensor; t: Tensor }) => net.lossAndGradient(p, b.x, b.t)),
          step(),
        ),
      }).pipe(
        maxSteps(steps),
        tap((s) => {
          if (readEach) for (const k of Object.keys(s.params)) void (s.params as P)[k].data
          between(s.step)
        }),
        toArray(),
      ),
    )
    return all as unknown as KeptState[]
  } finally {
    setKeptSums(was)
  }
}

/** The kept run's losses and, read in `order`'s order, its parameters: the fresh run's bits. */
export function expectLateReadsSame(
  kept: KeptState[],
  fresh: KeptState[],
  order: (i: number) => number,
): void {
  expect(kept.map((s) => s.loss)).toEqual(fresh.map((s) => s.loss))
  const idx = kept.map((_, i) => i).sort((a, b) => order(a) - order(b) || a - b)
  for (const i of idx) {
    for (const key of Object.keys(fresh[i].params)) {
      expect(same(kept[i].params[key].data, fresh[i].params[key].data)).toBe(true)
    }
  }
}
