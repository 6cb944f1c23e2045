// Internal: `setKernelThreads('auto')` (the default), the step timer of every training step that
// can use two threads — the two-layer step of `twoLayerGradient` (twoLayerShared.ts) and any
// `valueAndGrad` / `gradient(fn)` tape whose products are large (tapeThreads.ts): the step runs
// on one thread or on two, whichever a measurement shows faster, since both give the same bits
// and only the time differs. Each kind of step has its own timer, which times a step from its
// start to the next step's start: all a training loop waits for, so also what a second thread
// costs the rest of the loop (its helper spinning beside the update, the batch draw, the garbage
// collector's threads): timing the step alone, 'auto' ran W3 slower than one thread on a quiet
// machine (bench/RESULTS.md, session 5's quiet run, and issue 21 in session 6). A second
// vCPU of a shared machine comes and goes (bench/RESULTS.md: two threads ran W3 at 0.75× one
// thread's time on a quiet minute and at 1.3× on a busy one), so the choice is measured, not
// assumed, and measured again from time to time.
import { closers } from './closerInternals.js'
import {
  explicitThreads,
  helperRunning,
  startHelper,
  stopHelper,
  threadState,
} from './sharedKernels.js'

/**
 * The knobs of the choice (tests make them small). A probe is a sandwich: the thread count in
 * use, the other one, the one in use again. Each part starts with `warmup` unmeasured steps; the
 * middle part then measures `probe` steps, the outer two ⌈probe/2⌉ and ⌊probe/2⌋. The outer parts
 * stand on both sides of the middle one, so a run that is still speeding up (rows drawn for the
 * first time, code still compiling) favours neither count; measured second, the other count
 * would look faster by the run's own speed-up. (Suspected, not shown, in a quiet W3 run on
 * 2026-12-06 that put 9,540 of 10,000 steps on two threads: 7.55 s against 6.01 s on one.)
 * Steps of fewer than `minSize` input entries (n·d) never take part.
 */
export const autoTuning = {
  /** input entries (batch rows × inputs) below which a step always runs on one thread */
  minSize: 16_384,
  /** steps on one thread before the first probe (a run that short never starts the helper) */
  firstProbeAfter: 100,
  /**
   * unmeasured steps before each part of a probe: a new helper's code warms up and the
   * two-thread step's split (twoLayerShared.ts's layerSplit, one point a step) settles; with 10,
   * a first probe on W3 measured two threads at 0.96× one thread where later ones found 0.5–0.8×
   */
  warmup: 30,
  /** measured steps per thread count in a probe (the one in use: split around the other) */
  probe: 60,
  /**
   * steps before the second probe: the first comes while a new helper and the run's caches are
   * still warming (W3 at 13:10 UTC: 1.02 ms a step on two threads in the first probe, 0.66–0.77 in
   * later ones), so its choice is checked soon
   */
  second: 400,
  /**
   * steps between probes after that; doubled after each probe that keeps the choice (up to 8×),
   * back to this after one that changes it: a probe's part on the losing count costs its steps
   */
  every: 2_000,
  /** the other thread count is chosen only if its median step takes at most this share */
  margin: 0.9,
}

/** Where the chooser stands: the thread count in use, and the probe under way (if any). */
export class ThreadChooser {
  /** the thread count in use outside probes */
  mode: 1 | 2 = 1
  private calls = 0
  private probes = 0
  private probeAt = autoTuning.firstProbeAfter
  /** `every` times this between the probes after the second */
  private spacing = 1
  /** position in the probe under way, or −1 */
  private pos = -1
  /** the measured steps' times of the probe's two halves (ms) */
  private times: [number[], number[]] = [[], []]
  /** the last step, timed when the next one starts (`finished`, `want`) */
  private last: { asked: 1 | 2; ran: 1 | 2; start: number } | null = null

  /** Whether a probe is under way. */
  get probing(): boolean {
    return this.pos >= 0
  }

  /**
   * The thread count the next step, starting at `now` (ms), should run on; the step before it
   * (`finished`) is recorded with its period, from its start to `now`.
   */
  want(now?: number): 1 | 2 {
    const last = this.last
    if (last !== null && now !== undefined) {
      this.last = null
      this.record(last.asked, last.ran, now - last.start)
    }
    if (this.pos < 0 && this.calls >= this.probeAt) {
      this.pos = 0
      this.times = [[], []]
    }
    if (this.pos < 0) return this.mode
    return probePart(this.pos).other ? this.other() : this.mode
  }

  /**
   * A step that started at `start` (ms) ran on `ran` threads, having been asked for `asked`: it
   * is recorded when the next step asks (`want(now)`), with the time between their starts.
   */
  finished(asked: 1 | 2, ran: 1 | 2, start: number): void {
    this.last = { asked, ran, start }
  }

  /**
   * A step ran on `ran` threads in `ms` milliseconds, having been asked for `asked`. A step that
   * could not run on two (no helper, a batch the shared path does not take) ends a probe on one
   * thread.
   */
  record(asked: 1 | 2, ran: 1 | 2, ms: number): void {
    this.calls++
    if (this.pos < 0) return
    if (ran !== asked) {
      this.mode = 1
      this.end()
      return
    }
    const { margin } = autoTuning
    const part = probePart(this.pos)
    if (part.measured) this.times[part.other ? 1 : 0].push(ms)
    this.pos++
    if (probePart(this.pos).within) return
    // medians: a garbage collection or a stolen time slice in one part does not decide
    if (median(this.times[1]) <= margin * median(this.times[0])) {
      this.mode = this.other()
      this.spacing = 1
    } else if (this.probes >= 2) this.spacing = Math.min(8, 2 * this.spacing)
    this.end()
  }

  private other(): 1 | 2 {
    return this.mode === 1 ? 2 : 1
  }

  private end(): void {
    this.pos = -1
    this.probes++
    this.probeAt =
      this.calls + (this.probes === 1 ? autoTuning.second : autoTuning.every * this.spacing)
  }
}

/**
 * Where step `pos` of a probe falls: in the part on the other thread count (the middle one) or
 * not, measured or warming up, or past the probe's end.
 */
function probePart(pos: number): { within: boolean; other: boolean; measured: boolean } {
  const { warmup, probe } = autoTuning
  const parts = [Math.ceil(probe / 2), probe, Math.floor(probe / 2)]
  for (let i = 0; i < 3; i++) {
    const len = warmup + parts[i]
    if (pos < len) return { within: true, other: i === 1, measured: pos >= warmup }
    pos -= len
  }
  return { within: false, other: false, measured: false }
}

/** A kind of step with its own timer: the two-layer step, or a differentiated tape. */
export type StepKind = 'twoLayer' | 'tape'

let choosers: Record<StepKind, ThreadChooser> = {
  twoLayer: new ThreadChooser(),
  tape: new ThreadChooser(),
}

/** A fresh choice (`setKernelThreads('auto')`): one thread until the next probe. */
export function resetChooser(): void {
  choosers = { twoLayer: new ThreadChooser(), tape: new ThreadChooser() }
}

/**
 * The thread count a two-layer step of `size` input entries (n·d) should run on: 2 after
 * `setKernelThreads(2)` (where the helper runs), 1 after `setKernelThreads(1)`, and under
 * `'auto'` the chooser's (starting the helper for the first probe; it then sleeps while one
 * thread is chosen, until `closeWorkers`).
 */
export function stepThreads(size: number, kind: StepKind = 'twoLayer'): 1 | 2 {
  const requested = threadState.requested
  if (requested !== 'auto') return explicitThreads()
  if (size < autoTuning.minSize) return 1
  const chooser = choosers[kind]
  const want = chooser.want(performance.now())
  // once started, the helper stays (asleep in Atomics.wait while one thread is chosen): starting
  // a worker blocks this thread for 50–250 ms, each probe (closeWorkers ends it)
  if (want === 2 && !helperRunning()) {
    closers.add(stopHelper)
    startHelper() // if it cannot start, the step runs on one thread and the probe ends
  }
  return want
}

/** After a step `stepThreads` was asked about: it ran on `ran` threads in `ms` milliseconds. */
export function recordStep(
  size: number,
  asked: 1 | 2,
  ran: 1 | 2,
  ms: number,
  kind: StepKind = 'twoLayer',
): void {
  if (threadState.requested === 'auto' && size >= autoTuning.minSize) {
    // timed to the next step's start (ThreadChooser.want); ms: this step's own time
    choosers[kind].finished(asked, ran, performance.now() - ms)
  }
}

/** The thread count training steps run on now under `'auto'` (outside probes). */
export function autoThreads(): 1 | 2 {
  return Object.values(choosers).some((c) => c.mode === 2) && helperRunning() ? 2 : 1
}

/** The median of `xs` (the mean of the middle two for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
