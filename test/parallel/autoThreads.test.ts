import { describe, expect, it } from 'vitest'
import { mlp, randomBatches, rng, setKernelThreads, twoLayerNet, type Tensor } from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { readFileSync } from 'node:fs'
import { autoTuning, coreWaitMs, ThreadChooser } from '../../src/parallel/autoThreads.js'
import { helperRunning, helperThreadId } from '../../src/parallel/sharedKernels.js'
import { tapeStats } from '../../src/parallel/tapeThreads.js'
import { closeThreadsAfterAll, restoreAfterEach } from '../helpers/threadsReset.js'

// setKernelThreads('auto'), the default: a differentiated step (twoLayerNet's is a recipe over
// the tape) runs on whichever thread count a measurement shows faster. The chooser is tested on made-up timings (exact sequences of
// choices); the wiring on real steps (the same bits whatever it chooses).

restoreAfterEach(autoTuning)
closeThreadsAfterAll()

/** Runs `steps` steps through a chooser, timing each as `ms(threads, step)`; returns the choices. */
function drive(c: ThreadChooser, steps: number, ms: (threads: 1 | 2, step: number) => number) {
  const asked: number[] = []
  for (let s = 0; s < steps; s++) {
    const t = c.want()
    asked.push(t)
    c.record(t, t, ms(t, s))
  }
  return asked
}

const small = {
  firstProbeAfter: 3,
  firstProbeMs: 0,
  warmup: 1,
  probe: 4,
  probeMs: 0,
  confirm: 0,
  second: 10,
  every: 10,
  margin: 0.9,
}
const ones = (n: number) => Array<number>(n).fill(1)
const twos = (n: number) => Array<number>(n).fill(2)
/** A probe with `small`'s knobs from `mode`: 1 + 2 steps on it, 1 + 4 on the other, 1 + 2 on it. */
const sandwich = (mode: 1 | 2) =>
  mode === 1 ? [...ones(3), ...twos(5), ...ones(3)] : [...twos(3), ...ones(5), ...twos(3)]

describe('ThreadChooser (made-up timings)', () => {
  it('switches to two threads when two probes in a row find them 10% faster', () => {
    Object.assign(autoTuning, small)
    const c = new ThreadChooser()
    const asked = drive(c, 3 + 11 + 11 + 10 + 11, (t) => (t === 2 ? 0.89 : 1))
    // 3 steps on one thread; a probe (1 + 2 on one, 1 + 4 on two, 1 + 2 on one) finds two faster,
    // the next one at once agrees: two from then on; after `second` (10) steps the next probe is
    // a sandwich around two (one thread is not faster: two kept)
    expect(asked).toEqual([...ones(3), ...sandwich(1), ...sandwich(1), ...twos(10), ...sandwich(2)])
    expect(c.mode).toBe(2)
  })

  it('a large step (want(now, early)) probes from earlyFirstProbeAfter, with shorter probes', () => {
    Object.assign(autoTuning, small, {
      twoFirst: false, // a one-core machine's way: one thread until two probes find two faster
      earlyFirstProbeAfter: 2,
      earlyWarmup: 1,
      earlyProbe: 2,
      earlyProbeMs: 0,
      earlySecond: 6,
    })
    const c = new ThreadChooser()
    const asked: number[] = []
    for (let s = 0; s < 2 + 7 + 7 + 6 + 11; s++) {
      const t = c.want(undefined, true)
      asked.push(t)
      c.record(t, t, t === 2 ? 0.89 : 1)
    }
    // 2 steps on one thread; a short probe (1 + 1 on one, 1 + 2 on two, 1 + 1 on one) finds two
    // faster, the next one at once agrees: two from then on; `earlySecond` (6, not `second`'s
    // 10) steps later the ordinary probe comes (the first decision made), as short as the step
    const short = (mode: 1 | 2) =>
      mode === 1 ? [...ones(2), ...twos(3), ...ones(2)] : [...twos(2), ...ones(3), ...twos(2)]
    expect(asked).toEqual([
      ...ones(2),
      ...short(1),
      ...short(1),
      ...twos(6),
      ...short(2),
      ...twos(4),
    ])
    expect(c.mode).toBe(2)
    // without `early` the same chooser waits for firstProbeAfter and runs the long probe
    const d = new ThreadChooser()
    expect(drive(d, 3 + 11, (t) => (t === 2 ? 0.89 : 1))).toEqual([...ones(3), ...sandwich(1)])
  })

  it('with twoFirst, a large step runs on two threads once the helper is ready; probes check them', () => {
    const early = {
      twoFirst: true,
      twoFirstProbeAfter: 2,
      earlyFirstProbeAfter: 5, // not used with twoFirst
      earlyWarmup: 1,
      earlyProbe: 2,
      earlyProbeMs: 0,
      earlySecond: 6,
    }
    /**
     * `ready` steps before the helper is ready (want(now, false)), then large steps, a taken core
     * visible (`wait` 0: no wait)
     */
    const run = (c: ThreadChooser, ready: number, steps: number, two: number) => {
      const asked: number[] = []
      for (let s = 0; s < steps; s++) {
        const t = c.want(undefined, s >= ready, s >= ready ? 0 : -1)
        asked.push(t)
        c.record(t, t, t === 2 ? two : 1)
      }
      return asked
    }
    // a short probe from two threads: 1 + 1 on two, 1 + 2 on one, 1 + 1 on two
    const short2 = [...twos(2), ...ones(3), ...twos(2)]
    const short1 = [...ones(2), ...twos(3), ...ones(2)]
    Object.assign(autoTuning, small, early)
    // one thread while the helper starts (3 steps), then two; `twoFirstProbeAfter` (2) steps
    // later a probe finds one thread not faster: two kept, checked `second` (10, not
    // `earlySecond`'s 6) steps later
    expect(run(new ThreadChooser(), 3, 3 + 2 + 7 + 10 + 7, 0.89)).toEqual([
      ...ones(3),
      ...twos(2),
      ...short2,
      ...twos(10),
      ...short2,
    ])
    // two threads 1.2× slower: two probes in a row find one faster, and one thread is kept from
    // then on (checked `earlySecond` (6) steps later, from one thread)
    const c = new ThreadChooser()
    expect(run(c, 3, 3 + 2 + 14 + 6 + 7, 1.2)).toEqual([
      ...ones(3),
      ...twos(2),
      ...short2,
      ...short2,
      ...ones(6),
      ...short1,
    ])
    expect(c.mode).toBe(1)
    // two threads 1.3× slower (`leaveTwo`; the second core busy from the start): one probe decides
    const b = new ThreadChooser()
    expect(run(b, 3, 3 + 2 + 7 + 6 + 7, 1.3)).toEqual([
      ...ones(3),
      ...twos(2),
      ...short2,
      ...ones(6),
      ...short1,
    ])
    expect(b.mode).toBe(1)
    // two threads kept, then 2.67× slower from step 16 (another process takes a core), the
    // steps' wait for a core not known (`record` without it): the watch's window of steps 16–19
    // starts a probe at once, and one thread is chosen
    Object.assign(autoTuning, { second: 100, watch: 4, watchRatio: 1.3 })
    const d = new ThreadChooser()
    const asked: number[] = []
    for (let s = 0; s < 3 + 2 + 7 + 8 + 7 + 4; s++) {
      const t = d.want(undefined, s >= 3, 0)
      asked.push(t)
      d.record(t, t, t === 1 ? 1 : s < 16 ? 0.89 : 2.67)
    }
    expect(asked).toEqual([...ones(3), ...twos(2), ...short2, ...twos(8), ...short2, ...ones(4)])
    expect(d.mode).toBe(1)
    // a small step (`early` never true: no helper started for it) stays on one thread
    expect(run(new ThreadChooser(), Infinity, 3 + 11, 0.5)).toEqual([...ones(3), ...sandwich(1)])
  })

  it('with twoFirst, a window of steps that waited 0.6 of its time for a core starts the probe', () => {
    Object.assign(autoTuning, small, {
      twoFirst: true,
      twoFirstProbeAfter: 20,
      busySteps: 4,
      busyShare: 0.6,
      earlyWarmup: 1,
      earlyProbe: 2,
      earlyProbeMs: 0,
      earlySecond: 6,
    })
    /**
     * Steps of 1 ms on one thread and `two(k)` on two (k: the count of two-thread steps so far),
     * timed through `finished` and `want(now)`; the threads wait `share` of each two-thread step
     * for a core (a running total, as `coreWaitMs`). The helper is ready from step 2.
     */
    const run = (
      steps: number,
      two: (k: number) => number,
      share: number,
      /** the two-thread steps that wait 0.7 of their time instead (a core taken) */
      busy = (_k: number) => false,
    ) => {
      const c = new ThreadChooser()
      const asked: number[] = []
      let now = 0
      let wait = 0
      let k = 0
      for (let s = 0; s < steps; s++) {
        const t = c.want(now, s >= 2, s >= 2 ? wait : -1)
        asked.push(t)
        c.finished(t, t, now)
        const b = busy(k)
        const ms = t === 2 ? two(k++) : 1
        now += ms
        if (t === 2) wait += (b ? 0.7 : share) * ms
      }
      return asked
    }
    // a second core busy from the start: two threads 1.2× slower, waiting 0.7 of the time; the
    // first window (4 steps) starts the probe at its part on one thread (1 + 2 steps), then two
    // again (1 + 1): one thread faster, and a probe a window started decides alone (short of
    // `leaveTwo`); `earlySecond` (6) steps later a short probe from one thread checks
    const short1 = [...ones(2), ...twos(3), ...ones(2)]
    const short2 = [...twos(2), ...ones(3), ...twos(2)]
    const fromWindow = [...ones(3), ...twos(2)]
    expect(run(2 + 4 + 5 + 6 + 7, () => 1.2, 0.7)).toEqual([
      ...ones(2),
      ...twos(4),
      ...fromWindow,
      ...ones(6),
      ...short1,
    ])
    // the start's own contention: the first 4 two-thread steps 2 ms, waiting 0.7 of the time,
    // later ones 0.89: the probe measures two threads after its part on one thread only, and keeps
    // them; the next one comes `second` (10) steps later
    expect(run(2 + 4 + 5 + 10 + 7, (k) => (k < 4 ? 2 : 0.89), 0.7)).toEqual([
      ...ones(2),
      ...twos(4),
      ...fromWindow,
      ...twos(10),
      ...short2,
    ])
    // waiting 0.3 of the time (other jobs on the machine, two threads still faster): two threads
    // until the first probe, `twoFirstProbeAfter` (20) steps after they start
    expect(run(2 + 20 + 7, () => 0.89, 0.3)).toEqual([...ones(2), ...twos(20), ...short2])
    // after that probe has kept two threads, the windows go on (`second` 100: no other probe):
    // another process takes a core from two-thread step 36 (1.2 ms, over `watchRatio` times the
    // probe's 0.89, waiting 0.7 of it): the window of two-thread steps 36–39 starts a probe from
    // its part on one thread, which leaves two threads
    Object.assign(autoTuning, { second: 100 })
    const taken = (k: number) => k >= 36
    expect(run(2 + 20 + 7 + 16 + 5 + 2, (k) => (taken(k) ? 1.2 : 0.89), 0, taken)).toEqual([
      ...ones(2),
      ...twos(20),
      ...short2,
      ...twos(16),
      ...fromWindow,
      ...ones(2),
    ])
    // slow two-thread steps that do not wait for a core (the host's noise, 2.67 ms from step 28)
    // start no probe: the watch's windows are for one thread, or where the wait cannot be read
    expect(run(2 + 20 + 7 + 30, (k) => (k >= 28 ? 2.67 : 0.89), 0.3)).toEqual([
      ...ones(2),
      ...twos(20),
      ...short2,
      ...twos(30),
    ])
    // nor do windows that wait as much as those the probe measured, at the speed it measured
    // (two threads waiting 0.7 of their time all along, and still faster)
    expect(run(2 + 20 + 7 + 30, () => 0.89, 0.7)).toEqual([
      ...ones(2),
      ...twos(4),
      ...fromWindow,
      ...twos(30 + 16 + 2),
    ])
    // where the wait cannot be read (−1), a large step starts on one thread (no twoFirst)
    const c = new ThreadChooser()
    const asked = drive(c, 12 + 7, (t) => (t === 2 ? 0.89 : 1))
    expect(asked.slice(0, 3)).toEqual(ones(3))
    const d = new ThreadChooser()
    const early: number[] = []
    for (let s = 0; s < 30; s++) {
      const t = d.want(undefined, s >= 2, -1)
      early.push(t)
      d.record(t, t, t === 2 ? 0.89 : 1)
    }
    // one thread until `earlyFirstProbeAfter` (12), then two agreeing short probes
    expect(early).toEqual([...ones(12), ...short1, ...short1, ...twos(4)])
  })

  it('with the defaults, a large step on a machine whose threads do not wait runs W5’s epoch on two threads, no probe', () => {
    // W5: 469 steps, the helper ready from step 12; two threads faster (4 ms against 6), the
    // threads waiting 0.3 of their time (other jobs, no core taken); a probe's part on one thread
    // would cost its steps
    const c = new ThreadChooser()
    const asked: number[] = []
    let now = 0
    let wait = 0
    for (let s = 0; s < 469; s++) {
      const t = c.want(now, s >= 11, s >= 11 ? wait : -1)
      asked.push(t)
      c.finished(t, t, now)
      const ms = t === 2 ? 4 : 6
      now += ms
      if (t === 2) wait += 0.3 * ms
    }
    expect(asked).toEqual([...ones(11), ...twos(469 - 11)])
  })

  it('probes again at once when a window of steps runs 1.3× slower than the last probe measured', () => {
    Object.assign(autoTuning, small, { second: 100, watch: 4, watchRatio: 1.3 })
    // two threads win both probes (steps 3–24); 4 steps later they slow to 1.2 (another process
    // took the second core): the window of steps 29–32 starts a probe, which finds one thread
    // faster, and the next agrees
    const ms = (t: 1 | 2, s: number) => (t === 1 ? 1 : s < 3 + 22 + 4 ? 0.89 : 1.2)
    const c = new ThreadChooser()
    const asked = drive(c, 3 + 22 + 8 + 22 + 4, ms)
    expect(asked).toEqual([
      ...ones(3),
      ...sandwich(1),
      ...sandwich(1),
      ...twos(8),
      ...sandwich(2),
      ...sandwich(2),
      ...ones(4),
    ])
    expect(c.mode).toBe(1)
    // unwatched, the same run stays on two threads until `second` steps after its decision
    Object.assign(autoTuning, { watch: 0 })
    const d = new ThreadChooser()
    expect(drive(d, 3 + 22 + 30, ms)).toEqual([
      ...ones(3),
      ...sandwich(1),
      ...sandwich(1),
      ...twos(30),
    ])
    // a machine slow throughout starts one probe, not one a window: after it the slow steps are
    // what the watch expects, and the next probe comes `every` (10) steps later
    Object.assign(autoTuning, { watch: 4 })
    const e = new ThreadChooser()
    const slow = drive(e, 3 + 22 + 8 + 11 + 10, (t, s) =>
      s < 3 + 22 + 4 ? (t === 1 ? 1 : 0.89) : 2.67,
    )
    expect(slow).toEqual([
      ...ones(3),
      ...sandwich(1),
      ...sandwich(1),
      ...twos(8),
      ...sandwich(2),
      ...twos(10),
    ])
  })

  it('stays on one thread when two are slower, or not 10% faster', () => {
    Object.assign(autoTuning, small)
    for (const two of [1.3, 0.95]) {
      const c = new ThreadChooser()
      const asked = drive(c, 14 + 10, (t) => (t === 2 ? two : 1))
      expect(asked).toEqual([...ones(3), ...sandwich(1), ...ones(10)])
      expect(c.mode).toBe(1)
    }
  })

  it('one probe does not decide: a second that disagrees keeps the count in use', () => {
    Object.assign(autoTuning, small)
    const c = new ThreadChooser()
    // two threads fast in the first probe (steps 3–13), slow in the second (the core taken)
    const asked = drive(c, 3 + 11 + 11 + 10, (t, s) => (t === 1 ? 1 : s < 14 ? 0.5 : 2))
    expect(asked).toEqual([...ones(3), ...sandwich(1), ...sandwich(1), ...ones(10)])
    expect(c.mode).toBe(1)
  })

  it('only the measured steps count (a slow warm-up step, as a helper starting, does not)', () => {
    Object.assign(autoTuning, small)
    const c = new ThreadChooser()
    // step 6 is the first of the first probe's two-thread part: its warm-up, 50 ms
    drive(c, 25, (t, s) => (s === 6 ? 50 : t === 2 ? 0.5 : 1))
    expect(c.mode).toBe(2)
  })

  it('compares mean steps: a long tail of slow two-thread steps decides against them', () => {
    Object.assign(autoTuning, small)
    const c = new ThreadChooser()
    // two threads: 0.5 ms a step but every fourth 3 ms (the helper waiting for a core): median
    // 0.5 against one thread's 1, mean 1.125
    drive(c, 25, (t, s) => (t === 1 ? 1 : s % 4 === 0 ? 3 : 0.5))
    expect(c.mode).toBe(1)
  })

  it('a run still speeding up does not make the other count look faster (the probe is a sandwich)', () => {
    Object.assign(autoTuning, small)
    const c = new ThreadChooser()
    // every step 2% faster than the one before, whatever the thread count: with the other count
    // measured only after the one in use, its mean would be 0.83 against 0.91 and win
    drive(c, 25, (_, s) => 1 - 0.02 * s)
    expect(c.mode).toBe(1)
  })

  it('parts last `probeMs` at least (half of it the outer ones)', () => {
    Object.assign(autoTuning, { ...small, probeMs: 20 })
    const c = new ThreadChooser()
    // 1 ms steps: 10 measured in each outer part, 20 in the middle one
    const asked = drive(c, 3 + 11 + 21 + 11 + 2, () => 1)
    expect(asked).toEqual([...ones(3), ...ones(11), ...twos(21), ...ones(11), ...ones(2)])
  })

  it('goes back to one thread when two later probes find two slower, or one finds them 1.3× slower', () => {
    Object.assign(autoTuning, small)
    const c = new ThreadChooser()
    drive(c, 25, (t) => (t === 2 ? 0.5 : 1))
    expect(c.mode).toBe(2)
    const asked = drive(c, 10 + 11 + 11 + 3, (t) => (t === 2 ? 1.2 : 1)) // the second core is gone
    expect(asked).toEqual([...twos(10), ...sandwich(2), ...sandwich(2), ...ones(3)])
    expect(c.mode).toBe(1)
    // two threads twice as slow (`leaveTwo` 1.3): the first probe decides
    const d = new ThreadChooser()
    drive(d, 25, (t) => (t === 2 ? 0.5 : 1))
    expect(drive(d, 10 + 11 + 3, (t) => (t === 2 ? 2 : 1))).toEqual([
      ...twos(10),
      ...sandwich(2),
      ...ones(3),
    ])
    expect(d.mode).toBe(1)
  })

  it('checks the first choice soon (after `second` steps), then every `every` steps', () => {
    Object.assign(autoTuning, { ...small, second: 6, every: 10 })
    const c = new ThreadChooser()
    const probe = sandwich(1) // one thread kept: each probe's middle part on two
    expect(drive(c, 3 + 11 + 6 + 11 + 10 + 11, () => 1)).toEqual([
      ...ones(3),
      ...probe,
      ...ones(6),
      ...probe,
      ...ones(10),
      ...probe,
    ])
  })

  it('times a step to the next one’s start: two threads that slow the rest of the loop lose', () => {
    Object.assign(autoTuning, small)
    // the step itself 1 ms on one thread, 0.5 on two; the rest of the loop (update, next batch)
    // `rest` ms on one thread and rest2 on two
    for (const [rest2, kept] of [
      [2, 1], // 1 + 1 against 0.5 + 2: the loop is slower on two
      [1, 2], // 1 + 1 against 0.5 + 1: faster
    ] as const) {
      const c = new ThreadChooser()
      let now = 0
      for (let s = 0; s < 25; s++) {
        const t = c.want(now)
        const start = now
        now += t === 2 ? 0.5 : 1
        c.finished(t, t, start)
        now += t === 2 ? rest2 : 1
      }
      c.want(now) // the last probe step's period ends here
      expect(c.mode).toBe(kept)
    }
  })

  it('probes less often while the choice holds (every·2, ·4, … up to ·8), as often after a change', () => {
    Object.assign(autoTuning, { ...small, second: 6, every: 10 })
    const c = new ThreadChooser()
    const probe = sandwich(1) // one thread kept each time
    const gaps = [6, 10, 20, 40, 80, 80]
    const want = [...ones(3), ...probe, ...gaps.flatMap((g) => [...ones(g), ...probe])]
    expect(drive(c, want.length, () => 1)).toEqual(want)
    // a change brings the spacing back to `every`
    const d = new ThreadChooser()
    drive(d, 3 + 11 + 6 + 11 + 10 + 11 + 20 + 11, () => 1) // four probes kept one thread
    const after = drive(d, 40 + 22 + 10 + 11, (t) => (t === 2 ? 0.5 : 1))
    expect(after).toEqual([
      ...ones(40),
      ...sandwich(1),
      ...sandwich(1),
      ...twos(10),
      ...sandwich(2),
    ])
  })

  it('probes only once the steps have lasted `firstProbeMs`: a shorter run cannot repay a probe', () => {
    Object.assign(autoTuning, { ...small, firstProbeMs: 10 })
    // 1 ms steps: the first probe waits for the 10th step, though `firstProbeAfter` is 3
    expect(drive(new ThreadChooser(), 21, () => 1)).toEqual([...ones(10), ...sandwich(1)])
    // 5 ms steps: 10 ms after two steps, so the step count decides (3)
    expect(drive(new ThreadChooser(), 14, () => 5)).toEqual([...ones(3), ...sandwich(1)])
    // the helper is started `spawnAhead` steps early: by the time the steps take (2 ms here)
    Object.assign(autoTuning, { spawnAhead: 2 })
    const c = new ThreadChooser()
    const soon: boolean[] = []
    for (let s = 0; s < 6; s++) {
      soon.push(c.probeSoon)
      c.record(c.want(), 1, 2)
    }
    // after 3 steps (6 ms) two more would reach 10 ms
    expect(soon).toEqual([false, false, false, true, true, true])
  })

  it('a step that could not run on two threads ends the probe on one', () => {
    Object.assign(autoTuning, small)
    const c = new ThreadChooser()
    for (let s = 0; s < 9; s++) {
      const t = c.want()
      c.record(t, 1, 1) // the helper never starts
    }
    expect(c.mode).toBe(1)
    expect(c.probing).toBe(false)
    expect(drive(c, 9, () => 1)).toEqual(ones(9)) // no probe until `second` steps later
  })
})

/** A net and MNIST-sized image batches (81% zeros), and SGD steps through lossAndGradient. */
function training(steps: number): { W1: Float64Array; loss: number } {
  const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 2 })
  const r = rng(9)
  let p = net.params
  let loss = NaN
  for (let s = 0; s < steps; s++) {
    const x: Tensor = {
      shape: [100, 784],
      data: Float64Array.from({ length: 78400 }, () => (r.uniform() < 0.81 ? 0 : r.uniform())),
    }
    const t: Tensor = { shape: [100], data: Float64Array.from({ length: 100 }, () => r.int(10)) }
    const g = net.lossAndGradient(p, x, t)
    loss = g.loss
    const next = {} as Record<keyof typeof p, Tensor>
    for (const k of ['W1', 'b1', 'W2', 'b2'] as const) {
      next[k] = { shape: p[k].shape, data: p[k].data.map((v, i) => v - 0.1 * g.grad[k].data[i]) }
    }
    p = next as typeof p
  }
  return { W1: p.W1.data, loss }
}

describe("setKernelThreads('auto') on real steps", () => {
  it('probes two threads in a long enough run, with the bits of one thread throughout', () => {
    setKernelThreads(1)
    const one = training(40)
    Object.assign(autoTuning, {
      firstProbeAfter: 5,
      firstProbeMs: 0,
      warmup: 2,
      probe: 5,
      probeMs: 0,
      every: 15,
    })
    setKernelThreads('auto')
    const before = tapeStats.steps
    const auto = training(40)
    expect(tapeStats.steps).toBeGreaterThan(before) // some steps ran on two threads
    expect(Object.is(auto.loss, one.loss)).toBe(true)
    expect(auto.W1.every((v, i) => Object.is(v, one.W1[i]))).toBe(true)
  })

  it.runIf(process.platform === 'linux')(
    'reads the run-queue wait of this thread and the helper (schedstat’s second field, in ms)',
    async () => {
      await closeWorkers()
      expect(coreWaitMs()).toBe(-1) // no helper
      setKernelThreads(2)
      const tid = helperThreadId()
      expect(tid).toBeGreaterThan(0)
      const waited = () =>
        [`/proc/thread-self/schedstat`, `/proc/self/task/${tid}/schedstat`]
          .map((f) => Number(readFileSync(f, 'latin1').split(' ')[1]))
          .reduce((a, b) => a + b) / 1e6
      for (let i = 0; i < 20; i++) {
        training(1) // a step on two threads: both threads run (and may wait)
        const before = waited()
        const ms = coreWaitMs()
        expect(ms).toBeGreaterThanOrEqual(before)
        expect(ms).toBeLessThanOrEqual(waited())
      }
      setKernelThreads('auto')
    },
  )

  it('a short run never starts the helper (defaults: started 20 steps before the first probe, at 30)', async () => {
    await closeWorkers()
    setKernelThreads('auto')
    const before = tapeStats.steps
    training(autoTuning.firstProbeAfter - autoTuning.spawnAhead)
    expect(helperRunning()).toBe(false)
    expect(tapeStats.steps).toBe(before)
  })
})

/** 500 MNIST-like images (81% zeros, the rest 8-bit levels) with labels, as a data set. */
function images() {
  const r = rng(4)
  const x: Tensor = {
    shape: [500, 784],
    data: Float64Array.from({ length: 500 * 784 }, () =>
      r.uniform() < 0.81 ? 0 : (1 + r.int(255)) * (1 / 255),
    ),
  }
  const t: Tensor = { shape: [500], data: Float64Array.from({ length: 500 }, () => r.int(10)) }
  return { x, t }
}

describe("setKernelThreads('auto') skips steps too small to split", () => {
  // a batch drawn as compressed rows counts its non-zeros: 100 images × ~150 non-zeros × 50
  // hidden units, twice, is ~1.5 million multiply-adds, below the 2²² floor; 200 hidden units
  // (~6 million) are above it
  const probing = {
    firstProbeAfter: 5,
    firstProbeMs: 0,
    spawnAhead: 2,
    warmup: 2,
    probe: 5,
    probeMs: 0,
  }

  it('a two-layer step of W3’s size never probes two threads nor starts the helper', async () => {
    await closeWorkers()
    Object.assign(autoTuning, probing)
    setKernelThreads('auto')
    const data = images()
    const steps = (hiddenSize: number) => {
      const net = twoLayerNet({ inputSize: 784, hiddenSize, outputSize: 10, seed: 1 })
      const before = tapeStats.steps
      const batches = randomBatches(data, { batchSize: 100, seed: 2 })[Symbol.iterator]()
      for (let s = 0; s < 30; s++) {
        const b = batches.next().value as { x: Tensor; t: Tensor }
        net.lossAndGradient(net.params, b.x, b.t)
      }
      return tapeStats.steps - before
    }
    expect(steps(50)).toBe(0)
    expect(helperRunning()).toBe(false)
    expect(steps(200)).toBeGreaterThan(0)
  })

  it('nor does a tape step of that size (mlp 784–50–10 on batches of compressed rows)', async () => {
    await closeWorkers()
    Object.assign(autoTuning, probing)
    setKernelThreads('auto')
    const data = images()
    const steps = (hidden: number) => {
      const net = mlp({ sizes: [784, hidden, 10], activation: 'sigmoid', init: 0.01, seed: 1 })
      const before = tapeStats.steps
      const batches = randomBatches(data, { batchSize: 100, seed: 2 })[Symbol.iterator]()
      for (let s = 0; s < 30; s++) {
        const b = batches.next().value as { x: Tensor; t: Tensor }
        net.lossAndGradient(net.params, b.x, b.t)
      }
      return tapeStats.steps - before
    }
    expect(steps(50)).toBe(0)
    expect(helperRunning()).toBe(false)
    expect(steps(200)).toBeGreaterThan(0)
  })
})
