import fc from 'fast-check'
import { type OperatorFunction } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { mlp } from 'gradstream'
import { adam, sgd, update } from 'gradstream/operators'
import { keptSums, setKeptSums, SETTLE_EVERY, addScaledLeaf } from '../../src/tensor/keptSums.js'
import { type LazyData, lazyData, lazyDataOf } from '../../src/tensor/lazyData.js'
import { ownMemoryBytes } from '../../src/tensor/kernels/wasmKernels.js'
import { lazyParameters } from '../../src/autodiff/tapeMemory.js'
import { images, lcg, same } from '../helpers/sparseRows.js'
import { expectLateReadsSame, keptNet, keptRun, otherProduct } from '../helpers/keptRuns.js'
import { onWasmOneThread } from '../helpers/wasmOneThread.js'

// The update's θ + a·u for a long leaf is written into a home the library reuses and left there
// lazy (src/tensor/keptSums.ts): copied out if read while the home holds it, else replayed by the
// JavaScript loop from what it kept (x, itself maybe such a sum, and u). Whatever the order and
// time of the reads, every sum must be the plain loop's x + a·u, bit for bit: each entry is one
// rounded multiply and one rounded add in the kernels and in the loop, so the comparison is
// Object.is (−0 and NaN included), not a tolerance.

const reference = (x: Float64Array, y: Float64Array, a: number) =>
  Float64Array.from(x, (xi, i) => xi + a * y[i])

const arrayOf = (v: Float64Array | LazyData) => (v instanceof Float64Array ? v : v.value())

/** A lazy source over `data` that counts its reads (a stand-in for the tape's lazy gradient). */
function lazyOf(data: Float64Array, reads: { n: number }): LazyData {
  return lazyData(data.length, () => (reads.n++, data))
}

describe('kept sums: θ + a·u in a reused home, read on demand (wasm backend)', () => {
  onWasmOneThread()

  // chains of sums (each step's x is the chain's last sum), stepped in a drawn interleaving, u
  // an array or a lazy source, a drawn a; reads at drawn moments and at the end in drawn order
  const chains = fc.record({
    len: fc.integer({ min: 4096, max: 4100 }),
    chains: fc.integer({ min: 1, max: 20 }),
    schedule: fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.double({ min: -2, max: 2 })), {
      minLength: 1,
      maxLength: 60,
    }),
    readsDuring: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 10 }),
    order: fc.func(fc.integer()),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })

  it('every sum is the loop’s x + a·u, read at any time in any order; a replay runs ≤ SETTLE_EVERY sums', () => {
    fc.assert(
      fc.property(chains, ({ len, chains: c, schedule, readsDuring, order, seed }) => {
        const next = lcg(seed)
        const fill = () => Float64Array.from({ length: len }, () => next() * 4)
        const reads = { n: 0 }
        // per chain: its current value (array or lazy source) and the reference's
        const cur: (Float64Array | LazyData)[] = []
        const want: Float64Array[] = []
        for (let i = 0; i < c; i++) (cur.push(fill()), want.push(cur[i] as Float64Array))
        const made: { got: Float64Array | LazyData; want: Float64Array }[] = []
        for (let s = 0; s < schedule.length; s++) {
          const [which, lazy, a] = schedule[s]
          const i = which % c
          const u = fill()
          const sum = addScaledLeaf(cur[i], lazy ? lazyOf(u, reads) : u, a)
          want[i] = reference(want[i], u, a)
          cur[i] = sum
          made.push({ got: sum, want: want[i] })
          for (const [at, k] of readsDuring) {
            if (at % schedule.length === s) {
              const m = made[k % made.length]
              expect(same(arrayOf(m.got), m.want)).toBe(true)
            }
          }
        }
        expect(made.every((m) => !(m.got instanceof Float64Array))).toBe(true)
        const idx = made.map((_, i) => i).sort((p, q) => order(p) - order(q) || p - q)
        for (const i of idx) {
          const before = keptSums.replayed
          const got = arrayOf(made[i].got)
          expect(keptSums.replayed - before).toBeLessThanOrEqual(SETTLE_EVERY)
          expect(same(got, made[i].want)).toBe(true)
          expect(arrayOf(made[i].got)).toBe(got) // made once
        }
      }),
    )
  })

  it('read newest first, a long chain replays at most SETTLE_EVERY sums a read, each the loop’s', () => {
    const next = lcg(3)
    const fill = () => Float64Array.from({ length: 4096 }, () => next())
    let x: Float64Array | LazyData = fill()
    let want = x as Float64Array
    const made: { got: Float64Array | LazyData; want: Float64Array }[] = []
    for (let s = 0; s < 5 * SETTLE_EVERY + 3; s++) {
      const u = fill()
      x = addScaledLeaf(x, u, 0.3)
      want = reference(want, u, 0.3)
      made.push({ got: x, want })
    }
    let most = 0
    for (const m of made.reverse()) {
      const before = keptSums.replayed
      expect(same(arrayOf(m.got), m.want)).toBe(true)
      most = Math.max(most, keptSums.replayed - before)
    }
    expect(most).toBe(SETTLE_EVERY - 1)
  })

  it('a sum summed over x + a·x reads x before writing (x in the home the sum takes)', () => {
    const next = lcg(7)
    const x0 = Float64Array.from({ length: 5000 }, () => next())
    const x1 = addScaledLeaf(x0, x0, 0.5)
    const x2 = addScaledLeaf(x1, x1, -0.25) // y is x, lying in the home summed over in place
    const w1 = reference(x0, x0, 0.5)
    expect(same(arrayOf(x2), reference(w1, w1, -0.25))).toBe(true)
    expect(same(arrayOf(x1), w1)).toBe(true)
  })

  it('short leaves, the JavaScript backend, or turned off: a fresh array', () => {
    const x = new Float64Array(4095).fill(1)
    expect(addScaledLeaf(x, x, 1)).toBeInstanceOf(Float64Array)
    const was = setKeptSums(false)
    try {
      const y = new Float64Array(5000).fill(2)
      expect(addScaledLeaf(y, y, 1)).toBeInstanceOf(Float64Array)
    } finally {
      setKeptSums(was)
    }
  })
})

const run = keptRun

describe('kept sums in training: the states of fresh arrays, bit for bit (wasm backend)', () => {
  onWasmOneThread()
  const sets = [images(1, 240), images(2, 240)]
  const steppers: Record<string, () => OperatorFunction<any, any>> = {
    update: () => update(0.1),
    sgd: () => sgd(0.05),
  }

  it('twoLayerNet or mlp with update / sgd: every state read late in any order, or as emitted, equals the run without them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 6, max: 20 }).filter((h) => h !== 8 && h !== 16),
        fc.constantFrom('twoLayer', 'mlp'),
        fc.constantFrom('update', 'sgd'),
        fc.boolean(),
        fc.func(fc.integer()),
        async (which, seed, steps, hidden, kind, stepper, readEach, order) => {
          const data = sets[which]
          const net = keptNet(kind, seed, hidden)
          const before = { ...keptSums }
          const kept = await run(net, data, seed, steps, true, steppers[stepper], readEach)
          // each update made one (W1: 784·hidden ≥ 4,096), none read unless read
          expect(keptSums.made - before.made).toBe(steps)
          if (!readEach) {
            expect(keptSums.copied).toBe(before.copied)
            expect(keptSums.replayed).toBe(before.replayed)
          }
          for (const s of kept.slice(1)) expect(lazyDataOf(s.params.W1)).toBeDefined()
          const fresh = await run(net, data, seed, steps, false, steppers[stepper])
          for (const s of fresh) expect(lazyDataOf(s.params.W1)).toBeUndefined()
          expectLateReadsSame(kept, fresh, order)
        },
      ),
      { numRuns: 10 },
    )
  })

  it('the next call finds the update’s sum where the last left it, unless other work laid out there', async () => {
    // other products between steps (a 300×784 dense batch times 784×40: laid out over the whole
    // arena) on drawn steps: the next call must copy W1 in; after the other steps it reads the
    // update's sum where the update left it (lazyParameters.lying), and the states are the same
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 16 }),
        fc.constantFrom('twoLayer', 'mlp'),
        async (seed, others, kind) => {
          const net = keptNet(kind, seed, kind === 'mlp' ? 12 : 9)
          const steps = others.length
          const before = { ...lazyParameters }
          const kept = await run(
            net,
            sets[seed % 2],
            seed,
            steps,
            true,
            steppers.update,
            false,
            (i) => {
              if (others[i - 1]) otherProduct()
            },
          )
          // from call 1 on W1 is a kept sum (of the step before); call 0 runs without an arena,
          // call 1 copies W1 into a buffer of the arena and call 2 into its parameters' region
          // (planned from call 1), where from then on the update leaves its sum: call c ≥ 3 finds
          // it there unless other work ran before it (others[c − 1])
          const lying = others.filter((o, i) => i >= 2 && i < steps - 1 && !o).length
          expect(lazyParameters.lying - before.lying).toBe(lying)
          expect(lazyParameters.copied - before.copied).toBe(steps - 1 - lying)
          const fresh = await run(net, sets[seed % 2], seed, steps, false, steppers.update)
          expect(kept.map((s) => s.loss)).toEqual(fresh.map((s) => s.loss))
          for (let i = steps - 1; i >= 0; i--) {
            for (const key of Object.keys(fresh[i].params)) {
              expect(same(kept[i].params[key].data, fresh[i].params[key].data)).toBe(true)
            }
          }
        },
      ),
      { numRuns: 8 },
    )
  })

  it('the tape copies a lazy W1 into the same place call after call: memory stops growing', async () => {
    const net = mlp({ sizes: [784, 20, 10], activation: 'sigmoid', init: 0.1, seed: 2 })
    await run(net, sets[0], 1, 5, true, steppers.update)
    const bytes = ownMemoryBytes()
    await run(net, sets[0], 1, 40, true, steppers.update)
    expect(ownMemoryBytes()).toBe(bytes)
  })

  it('a run that continues from Adam’s lazy θ (the resident pass) with sgd: the same bits', async () => {
    const net = mlp({ sizes: [784, 12, 10], activation: 'relu', seed: 4 })
    const first = await run(net, sets[0], 3, 4, true, () => adam(0.01))
    const from = { ...net, params: first[first.length - 1].params }
    const kept = await run(from, sets[1], 5, 6, true, () => sgd(0.1))
    const fresh = await run(from, sets[1], 5, 6, false, () => sgd(0.1))
    for (let i = kept.length - 1; i >= 0; i--) {
      for (const key of Object.keys(fresh[i].params)) {
        expect(same(kept[i].params[key].data, fresh[i].params[key].data)).toBe(true)
      }
    }
  })
})
