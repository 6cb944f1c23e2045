import { lastValueFrom, take, tap, toArray, type Observable, type OperatorFunction } from 'rxjs'
import { describe as group, expect, it } from 'vitest'
import { checkpoint, chunked, tensor, train, type Tensor, type TrainState } from 'gradstream'
import {
  adam,
  centralDifference,
  cosineDecay,
  gaussian,
  gradient,
  loss,
  momentum,
  perturb,
  rmsprop,
  sgd,
  spsa,
} from 'gradstream/operators'
import { run as soak } from '../../bench/soak.bench.js'

const RUNS = 100
const STEPS = 60

// Run i: its own estimator, optimizer and seed, so runs differ and random designs draw from
// their own generators.
const designs = [
  () => spsa({ c: 1e-2 }),
  () => gaussian({ sigma: 1e-2, samples: 2 }),
  () => centralDifference(),
]
const optimizers = [
  () => sgd(0.01),
  () => momentum(cosineDecay({ init: 0.01, steps: STEPS }), 0.9),
  () => adam(0.05),
  () => rmsprop(0.01),
]
const objective = (i: number) => (x: Tensor) =>
  (x.data[0] - (i % 7)) ** 2 + 3 * (x.data[1] + (i % 5)) ** 2 + x.data[0] * x.data[1] * 0.1

function runOf(i: number, mode?: ReturnType<typeof chunked>): Observable<TrainState<Tensor>> {
  const step = (s$: Observable<TrainState<Tensor>>) =>
    s$.pipe(
      perturb(designs[i % 3]()),
      loss(objective(i)),
      gradient(),
      optimizers[i % 4]() as OperatorFunction<unknown, TrainState<Tensor>>,
    )
  return train({ params: tensor([1, -1]), step, seed: 1000 + i, ...(mode ? { mode } : {}) }).pipe(
    take(STEPS + 1),
  )
}

group('soak', () => {
  it(`${RUNS} concurrent chunked runs on one event loop each equal the same run alone`, async () => {
    // alone: one at a time, synchronously
    const alone = Array.from({ length: RUNS }, (_, i) => {
      const states: string[] = []
      runOf(i).subscribe((s) => states.push(checkpoint(s)))
      return states
    })
    // together: all subscribed at once, chunks of 7 steps interleaved on the event loop
    const order: number[] = []
    const together = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        lastValueFrom(
          runOf(i, chunked({ steps: 7 })).pipe(
            tap(() => order.push(i)),
            toArray(),
          ),
        ),
      ),
    )
    // they really ran interleaved: run 0 had not finished when the last run started
    expect(order.indexOf(RUNS - 1)).toBeLessThan(order.lastIndexOf(0))
    for (let i = 0; i < RUNS; i++) {
      expect(together[i]).toHaveLength(STEPS + 1)
      // checkpoint text holds every double's bytes: equal text, bit-identical states
      expect(together[i].map(checkpoint), `run ${i}`).toEqual(alone[i])
    }
  })

  it('a short synchronous soak keeps the heap flat (bench/soak.bench.ts, 100,000 steps)', () => {
    const r = soak(100_000)
    expect(r.finalParams[0]).toBeCloseTo(1, 6)
    expect(r.finalParams[1]).toBeCloseTo(-2, 6)
    // flat: the heap after the run is within 16 MB of before (a leak of even 200 bytes per step
    // would add 19 MB over 100,000 steps)
    expect(r.heapAfterMB - r.heapBeforeMB).toBeLessThan(16)
    console.log(
      `soak 100,000 steps: heap ${r.heapBeforeMB.toFixed(1)} → ${r.heapAfterMB.toFixed(1)} MB, samples ${r.heapSamplesMB.map((x) => x.toFixed(1)).join(', ')}`,
    )
  })
})
