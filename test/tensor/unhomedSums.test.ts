import fc from 'fast-check'
import { lastValueFrom, pipe, tap, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { mlp, randomBatches, setKernelThreads, train, type Tensor } from 'gradstream'
import {
  applyUpdates,
  gradient,
  maxSteps,
  scaleByBacktrackingLinesearch,
  scaleByLearningRate,
  update,
} from 'gradstream/operators'
import { setKeptSums } from '../../src/tensor/keptSums.js'
import { lazyDataOf } from '../../src/tensor/lazyData.js'
import { unhomedSums } from '../../src/tensor/kernels/wasmKernels.js'
import { TAPE_MIN_WORK, tapeStats, tapeTuning } from '../../src/parallel/tapeThreads.js'
import { images, same } from '../helpers/sparseRows.js'
import {
  expectLateReadsSame,
  type KeptNet,
  keptNet,
  keptRun,
  type KeptState,
  otherProduct,
} from '../helpers/keptRuns.js'
import { closeThreadsAfterAll } from '../helpers/threadsReset.js'
import { onWasmOneThread } from '../helpers/wasmOneThread.js'

// The update's W1 + a·∂W1 is summed where the tape's call left W1 and ∂W1 (its arena in wasm
// memory) and left there, not copied into its home (src/tensor/kernels/wasmKernels.ts
// `unhomed`): the next call reads it there. Anything that writes over those bytes first must
// send it home — a product laid out over the closed arena, another net's call (its buffers), the
// same net's call on other parameters (copied into W1's place) — and a late read of the state
// must then give the numbers of a run that never left a sum unhomed (kept sums off: fresh
// arrays), bit for bit.

type Net = KeptNet
type P = Net['params']
type State = KeptState

const sets = [images(3, 240), images(4, 240)]

const run = (net: Net, data: (typeof sets)[0], seed: number, steps: number, kept: boolean) =>
  keptRun(net, data, seed, steps, kept)

const netOf = keptNet

describe('the update’s sum left where it was summed goes home before anything writes there', () => {
  onWasmOneThread()
  const batch = { x: sets[1].x, t: sets[1].t }

  it('a product, another net’s call or the same net’s call on other parameters, then reads late', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 4, max: 12 }),
        fc.constantFrom('twoLayer', 'mlp'),
        fc.constantFrom('product', 'otherNet', 'otherParams'),
        fc.func(fc.integer()),
        async (seed, steps, kind, other, order) => {
          const net = netOf(kind, seed, 9)
          // another plan (other lengths): its arena's buffers lie over the net's; two calls
          // before, so that the one after runs in its arena
          const another = netOf(kind === 'mlp' ? 'twoLayer' : 'mlp', seed + 1, 13)
          const small = { x: sets[0].x, t: sets[0].t }
          for (let i = 0; i < 2; i++) another.lossAndGradient(another.params, small.x, small.t)
          const before = { ...unhomedSums }
          const kept = await run(net, sets[seed % 2], seed, steps, true)
          // every step's sum from the second on left unhomed (the first call runs without an
          // arena); sent home only by the third call, whose plan moves W1 into the parameters'
          // region (and where read: every SETTLE_EVERY-th sum, none here)
          const last = kept[kept.length - 1].params.W1
          expect(lazyDataOf(last)).toBeDefined()
          expect(unhomedSums.left - before.left).toBe(steps - 1)
          expect(unhomedSums.homed - before.homed).toBe(1)
          if (other === 'product') otherProduct()
          else if (other === 'otherNet') another.lossAndGradient(another.params, batch.x, batch.t)
          else net.lossAndGradient(kept[1].params, batch.x, batch.t)
          const fresh = await run(net, sets[seed % 2], seed, steps, false)
          expectLateReadsSame(kept, fresh, order)
        },
      ),
      { numRuns: 12 },
    )
  })

  it('read as emitted, and summed over by the next step in its home: the same bits', async () => {
    const net = netOf('twoLayer', 7, 9)
    const was = setKeptSums(true)
    const seen: Float64Array[] = []
    let kept: State[]
    try {
      kept = (await lastValueFrom(
        train({
          params: net.params,
          data: randomBatches(sets[0], { batchSize: 30, seed: 7 }),
          step: pipe(
            gradient((p: P, b: { x: Tensor; t: Tensor }) => net.lossAndGradient(p, b.x, b.t)),
            update(0.1),
          ),
        }).pipe(
          maxSteps(9),
          // every third state read as it comes (its sum sent home), the others left unhomed
          tap((s) => void (s.step % 3 === 0 && seen.push((s.params as P).W1.data))),
          toArray(),
        ),
      )) as unknown as State[]
    } finally {
      setKeptSums(was)
    }
    const fresh = await run(net, sets[0], 7, 9, false)
    for (let i = kept.length - 1; i >= 0; i--) {
      expect(same(kept[i].params.W1.data, fresh[i].params.W1.data)).toBe(true)
    }
    expect(seen.length).toBeGreaterThanOrEqual(3)
  })

  it('a line search from it: its first trial point, written over θ where θ lies, sends θ home first', async () => {
    const net = mlp({ sizes: [784, 16, 10], activation: 'sigmoid', init: 0.1, seed: 5 })
    type B = { x: Tensor; t: Tensor }
    const runs = async (kept: boolean) => {
      const first = await run(net, sets[0], 5, 5, kept)
      const from = first[first.length - 1].params
      const was = setKeptSums(kept)
      try {
        const then = (await lastValueFrom(
          train({
            params: from,
            data: randomBatches(sets[1], { batchSize: 30, seed: 6 }),
            step: pipe(
              gradient((q: P, b: B) => net.lossAndGradient(q, b.x, b.t)),
              scaleByLearningRate(1),
              scaleByBacktrackingLinesearch((q: P, b: B) => net.loss(q, b.x, b.t)),
              applyUpdates(),
            ),
          }).pipe(maxSteps(3), toArray()),
        )) as unknown as State[]
        return [...first, ...then]
      } finally {
        setKeptSums(was)
      }
    }
    const got = await runs(true)
    const want = await runs(false)
    for (let i = got.length - 1; i >= 0; i--) {
      for (const key of Object.keys(want[i].params)) {
        expect(same(got[i].params[key].data, want[i].params[key].data), `${i} ${key}`).toBe(true)
      }
    }
  })

  describe('on two threads', () => {
    closeThreadsAfterAll()
    it('another net’s call there, its batch compressed in own memory first: the sum goes home', async () => {
      const net = netOf('twoLayer', 11, 9)
      const another = netOf('mlp', 12, 13)
      const kept = await run(net, sets[0], 11, 6, true)
      // a dense batch of 240 rows: compressed in this module's own memory from its bottom up
      // (`ownScratch`), then copied into the memory the threads share
      const before = tapeStats.steps
      setKernelThreads(2)
      tapeTuning.explicitMinWork = 0
      try {
        another.lossAndGradient(another.params, sets[1].x, sets[1].t)
      } finally {
        tapeTuning.explicitMinWork = TAPE_MIN_WORK
        setKernelThreads(1)
      }
      expect(tapeStats.steps - before).toBe(1)
      const fresh = await run(net, sets[0], 11, 6, false)
      for (let i = kept.length - 1; i >= 0; i--) {
        for (const key of Object.keys(fresh[i].params)) {
          expect(same(kept[i].params[key].data, fresh[i].params[key].data), `${i} ${key}`).toBe(
            true,
          )
        }
      }
    })
  })
})
