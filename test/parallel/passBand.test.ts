// A two-thread step and its optimizer's resident pass in one memory (src/engine/wasmPass.ts's
// pooled Arena in the band sharedKernels.ts `claimBand` gives it): the tape reads θ where the
// pass left it (lazyParameters.inPass) and the pass reads the tape's lazy ∂W1 where the tape left
// it (gInPlace), neither copied. Every state — read as emitted or after the run, copied out or
// replayed — must equal the run on one thread (private memories, every copy made) bit for bit.
import { pipe, tap, toArray } from 'rxjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  mlp,
  randomBatches,
  setKernelBackend,
  setKernelThreads,
  train,
  type Tensor,
  type TrainState,
} from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { adam, gradient, maxSteps } from 'gradstream/operators'
import { lazyParameters } from '../../src/autodiff/tapeMemory.js'
import { gInPlace } from '../../src/engine/wasmPass.js'
import { tapeTuning } from '../../src/parallel/tapeThreads.js'
import { startHelper, stopHelper } from '../../src/parallel/sharedKernels.js'
import { bitsOf } from '../helpers/passOptimizers.js'
import { images } from '../helpers/sparseRows.js'

const savedMinWork = tapeTuning.explicitMinWork
beforeAll(() => {
  setKernelBackend('wasm')
  startHelper()
  // a small net's calls on the shared memory too (its products split or not: the same bits)
  tapeTuning.explicitMinWork = 0
})
afterAll(async () => {
  tapeTuning.explicitMinWork = savedMinWork
  setKernelThreads('auto')
  setKernelBackend('auto')
  await closeWorkers()
})

/**
 * 14 steps of mlp 784–64–10 with Adam; the bits of the states read as emitted (`early`) and
 * after. `between(step)` runs after each step's state is read.
 */
function run(
  threads: 1 | 2,
  early: readonly number[],
  late: readonly number[],
  between?: (step: number) => void,
) {
  setKernelThreads(threads)
  try {
    // 784×64 weights in W1 (above the resident pass's and the split pass's floors)
    const net = mlp({ sizes: [784, 64, 10], seed: 7 })
    const data = images(11, 300)
    const seen: string[] = []
    let states: TrainState[] = []
    train({
      params: net.params,
      data: randomBatches(data, { batchSize: 50, seed: 5 }),
      step: pipe(
        gradient((p: typeof net.params, b: { x: Tensor; t: Tensor }) =>
          net.lossAndGradient(p, b.x, b.t),
        ),
        adam(0.01),
      ),
    })
      .pipe(
        maxSteps(14),
        tap((s) => {
          if (early.includes(s.step)) seen.push(bitsOf(s as TrainState))
          between?.(s.step)
        }),
        toArray(),
      )
      .subscribe((v) => (states = v as TrainState[]))
    for (const i of late) seen.push(bitsOf(states[i]))
    return { seen, losses: states.map((s) => s.loss) }
  } finally {
    setKernelThreads('auto')
  }
}

describe('a two-thread step and its pass in one memory', () => {
  it('reads θ and ∂W1 where they lie and gives the one-thread bits', () => {
    const early = [1, 4, 9]
    const late = [13, 2, 7, 0, 11, 5, 14]
    const inPass = lazyParameters.inPass
    const gReads = gInPlace.reads
    const two = run(2, early, late)
    // W1's θ read in the pass's memory from the third call on (the first has no lazy θ, the
    // second no arena yet; W2 is too short for the resident pass), and its ∂W1 where the tape
    // left it by nearly every step's pass
    expect(lazyParameters.inPass - inPass).toBeGreaterThanOrEqual(10)
    expect(gInPlace.reads - gReads).toBeGreaterThanOrEqual(10)
    const one = run(1, early, late)
    expect(two.losses).toEqual(one.losses)
    expect(two.seen).toEqual(one.seen)
  })
})

describe('a pooled arena whose shared memory is another helper’s', () => {
  it('moves into the running helper’s band, its numbers with it, and gives the one-thread bits', async () => {
    const early = [2, 6, 8]
    const late = [12, 1, 9, 4, 7]
    const one = run(1, early, late)
    // a run whose helper is stopped and another started after step 5: its arena's θ and slots
    // (in the first helper's band) move into the second's; and runs after `closeWorkers` (each on
    // a new helper's memory) that take over the pool's least recently used idle arena, in the
    // band of a helper stopped since
    const restarted = { inPass: 0, gReads: 0 }
    const two = run(2, early, late, (step) => {
      if (step !== 5) return
      stopHelper()
      expect(startHelper()).toBe(true)
      restarted.inPass = lazyParameters.inPass
      restarted.gReads = gInPlace.reads
    })
    expect(two.losses).toEqual(one.losses)
    expect(two.seen).toEqual(one.seen)
    expect(lazyParameters.inPass - restarted.inPass).toBeGreaterThanOrEqual(7)
    expect(gInPlace.reads - restarted.gReads).toBeGreaterThanOrEqual(7)
    for (let r = 0; r < 3; r++) {
      await closeWorkers()
      startHelper()
      const inPass = lazyParameters.inPass
      const gReads = gInPlace.reads
      const next = run(2, early, late)
      expect(next.losses).toEqual(one.losses)
      expect(next.seen).toEqual(one.seen)
      // θ and ∂W1 read where they lie in every run
      expect(lazyParameters.inPass - inPass).toBeGreaterThanOrEqual(10)
      expect(gInPlace.reads - gReads).toBeGreaterThanOrEqual(10)
    }
  })
})
