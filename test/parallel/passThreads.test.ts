// An optimizer's resident pass on two threads (src/engine/wasmPass.ts's Arena.run with
// sharedKernels.ts's splitPass): its memory shared with the helper, which instantiates the same
// pass module on it and takes chunks of each leaf's range as they come free. The rule is
// elementwise, so every element gets the same bits whichever thread and chunk computed it: every
// state — read as emitted or late, in any order, its numbers copied out or replayed — must equal
// the eager JavaScript pass (`setPassWasm('off')`) bit for bit, steps on one thread and on two
// mixed in one run, the helper computing every chunk or sharing them, a private memory made
// shared in the middle of a run.
import fc from 'fast-check'
import { pipe, tap, toArray } from 'rxjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  mlp,
  setKernelBackend,
  setKernelThreads,
  tensor,
  train,
  type Tensor,
  type TrainState,
} from 'gradstream'
import { adam, gradient, maxSteps } from 'gradstream/operators'
import { residentArenas, setPassWasm } from '../../src/engine/wasmPass.js'
import {
  helperRunning,
  passStats,
  passTuning,
  startHelper,
  threadState,
} from '../../src/parallel/sharedKernels.js'
import { bitsOf, mlpAdamRun, passOptimizers, wave } from '../helpers/passOptimizers.js'
import { images } from '../helpers/sparseRows.js'
import { closeThreadsAfterAll } from '../helpers/threadsReset.js'

type P = { readonly W: Tensor; readonly b: Tensor; readonly s: number }

const paramsOf = (seed: number, len: number): P => ({
  W: { shape: [len], data: Float64Array.from({ length: len }, (_, i) => wave(seed, i, 2)) },
  b: tensor([wave(seed + 1, 0, 1), wave(seed + 1, 1, 1)]),
  s: wave(seed + 2, 0, 1),
})

interface Case {
  name: string
  len: number
  seed: number
  /** per step: its gradient's seed, and whether the step "ran on two threads" (its pass splits) */
  steps: { seed: number; two: boolean }[]
  /** the pass's chunks, in numbers at least */
  chunkLength: number
  /** whether this thread takes chunks too (else the helper computes them all) */
  callerChunks: boolean
  /** steps whose state is read as it is emitted */
  readEarly: number[]
  /** the late reads: state indices, in this order */
  order: number[]
}

/**
 * The case's run: under 'auto' each step's gradient says whether its step ran on two threads
 * (as a tape call does, tapeThreads.ts), so its pass splits or not; the early reads, then the
 * late ones in the case's order. The bits of every state, and the passes split.
 */
function runCase(c: Case, mode: 'always' | 'off'): { bits: string[]; split: number } {
  const was = setPassWasm(mode)
  passTuning.minLength = 0
  passTuning.chunkLength = c.chunkLength
  passTuning.callerChunks = c.callerChunks
  threadState.requested = 'auto'
  const split0 = passStats.split
  try {
    const early: string[] = []
    let states: TrainState<P>[] = []
    train({
      params: paramsOf(c.seed, c.len),
      data: c.steps,
      step: pipe(
        gradient((p: P, step: Case['steps'][number]) => {
          threadState.stepRan = step.two ? 2 : 1
          const leaf = (t: Tensor, salt: number): Tensor => ({
            shape: t.shape,
            data: Float64Array.from({ length: t.data.length }, (_, i) =>
              wave(step.seed + salt, i, 1.5),
            ),
          })
          return {
            loss: 0,
            grad: { W: leaf(p.W, 0), b: leaf(p.b, 1), s: wave(step.seed, 7, 1) },
          }
        }),
        passOptimizers[c.name]() as never,
      ),
    })
      .pipe(
        maxSteps(c.steps.length),
        tap((s) => {
          if (c.readEarly.includes(s.step)) early.push(bitsOf(s as TrainState))
        }),
        toArray(),
      )
      .subscribe((v) => (states = v as TrainState<P>[]))
    const late = states.map(() => '')
    for (const i of c.order) late[i % states.length] = bitsOf(states[i % states.length])
    for (let i = 0; i < states.length; i++) if (late[i] === '') late[i] = bitsOf(states[i])
    return { bits: [...early, ...late], split: passStats.split - split0 }
  } finally {
    setPassWasm(was)
    threadState.stepRan = 1
  }
}

const caseOf = fc.record({
  name: fc.constantFrom(...Object.keys(passOptimizers)),
  len: fc.integer({ min: 1, max: 700 }),
  seed: fc.integer({ min: 1, max: 1000 }),
  steps: fc.array(fc.record({ seed: fc.integer({ min: 0, max: 1 << 20 }), two: fc.boolean() }), {
    minLength: 1,
    maxLength: 20,
  }),
  chunkLength: fc.constantFrom(1, 2, 6, 64),
  callerChunks: fc.boolean(),
  readEarly: fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 4 }),
  order: fc.array(fc.nat({ max: 40 }), { maxLength: 40 }),
})

const saved = { ...passTuning }
beforeAll(() => {
  setKernelThreads('auto')
  startHelper()
})
afterEach(() => {
  Object.assign(passTuning, saved)
  threadState.requested = 'auto'
  threadState.stepRan = 1
  setPassWasm('auto')
  if (!helperRunning()) startHelper()
})
closeThreadsAfterAll()

describe('the resident pass on two threads', () => {
  it('makes a private memory shared in the middle of a run, numbers kept', () => {
    // first in this file: no arena yet, so the run's memory is made under setKernelThreads(1)
    // (private); at step 6 two threads are asked for, and its passes split from then on
    expect(residentArenas().arenas).toBe(0)
    setKernelThreads(1)
    const steps = Array.from({ length: 14 }, (_, i) => i)
    const run = (mode: 'always' | 'off') => {
      const was = setPassWasm(mode)
      passTuning.minLength = 0
      passTuning.chunkLength = 64
      try {
        let out: TrainState<P>[] = []
        train({
          params: paramsOf(5, 3000),
          data: steps,
          step: pipe(
            gradient((p: P, k: number): { loss: number; grad: P } => {
              if (k === 6) setKernelThreads(2)
              return {
                loss: 0,
                grad: {
                  W: {
                    shape: p.W.shape,
                    data: Float64Array.from(p.W.data, (v, i) => wave(k, i, 1) - 0.1 * v),
                  },
                  b: tensor([wave(k, 0, 1), wave(k, 1, 1)]),
                  s: wave(k, 2, 1),
                },
              }
            }),
            adam(0.05),
          ),
        })
          .pipe(maxSteps(steps.length), toArray())
          .subscribe((v) => (out = v as TrainState<P>[]))
        return out
      } finally {
        setPassWasm(was)
        setKernelThreads(1)
      }
    }
    const split0 = passStats.split
    const got = run('always')
    expect(residentArenas().moves).toBe(1)
    expect(passStats.split - split0).toBe(steps.length - 6)
    const want = run('off')
    for (const i of [13, 2, 7, 0, 10, 5, 14, 1]) {
      expect(bitsOf(got[i] as never), `state ${i}`).toBe(bitsOf(want[i] as never))
    }
    setKernelThreads('auto')
  })

  it('gives the one-thread pass’s bits, steps split or not, read at any time (property)', () => {
    expect(helperRunning()).toBe(true)
    fc.assert(
      fc.property(caseOf, (c) => {
        const want = runCase(c, 'off')
        const got = runCase(c, 'always')
        expect(got.bits.length).toBe(want.bits.length)
        for (let i = 0; i < want.bits.length; i++) {
          expect(got.bits[i], `entry ${i}`).toBe(want.bits[i])
        }
        // a leaf longer than one chunk splits in its steps on two threads: chunks of whole
        // vectors (two numbers), at least chunkLength numbers, at most 16 to a leaf
        const vectors = (c.len + 1) >> 1
        const chunk = Math.max(1, Math.ceil(vectors / 16), c.chunkLength >> 1)
        const two = c.steps.filter((s) => s.two).length
        expect(got.split).toBe(chunk < vectors ? two : 0)
        expect(want.split).toBe(0)
      }),
      { numRuns: 60 },
    )
  })

  it('moves the numbers back to the private memory on one thread, and again', () => {
    // steps on one and two threads alternating in runs: the numbers move at each change (the
    // first may find the arena where the step wants it), and every state keeps its bits
    const pattern = [false, false, true, true, false, false, true, false, true]
    const c: Case = {
      name: 'adam',
      len: 500,
      seed: 3,
      steps: pattern.map((two, i) => ({ seed: 10 + i, two })),
      chunkLength: 16,
      callerChunks: true,
      readEarly: [1, 4, 7],
      order: [8, 0, 3, 6, 2],
    }
    const moves = residentArenas().moves
    const got = runCase(c, 'always')
    expect(residentArenas().moves - moves).toBeGreaterThanOrEqual(5)
    expect(got.split).toBe(4)
    expect(got.bits).toEqual(runCase(c, 'off').bits)
  })

  it('trains an mlp on setKernelThreads(2) with one thread’s bits, its pass split', () => {
    setKernelBackend('wasm')
    try {
      // 784×32 = 25,088 weights in W1: above passTuning.minLength, so W1's pass splits
      const net = mlp({ sizes: [784, 32, 10], seed: 4 })
      const data = images(6, 200)
      const run = (threads: 1 | 2) => {
        setKernelThreads(threads)
        try {
          return mlpAdamRun(net, data, { batchSize: 40, seed: 3, steps: 12 })
        } finally {
          setKernelThreads('auto')
        }
      }
      const split0 = passStats.split
      const two = run(2)
      expect(passStats.split - split0).toBe(12)
      const one = run(1)
      for (const i of [12, 3, 7, 0, 11]) {
        expect(two[i].loss, `state ${i}`).toBe(one[i].loss)
        expect(bitsOf(two[i]), `state ${i}`).toBe(bitsOf(one[i]))
      }
    } finally {
      setKernelBackend('auto')
    }
  })
})
