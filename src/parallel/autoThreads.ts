// Internal: `setKernelThreads('auto')` (the default), the step timer of every training step that
// can use two threads — any `valueAndGrad` / `gradient(fn)` tape whose products are large
// (tapeThreads.ts; twoLayerNet's gradient is one): the step runs
// on one thread or on two, whichever a measurement shows faster, since both give the same bits
// and only the time differs. The timer times a step from its
// start to the next step's start: all a training loop waits for, so also what a second thread
// costs the rest of the loop (its helper spinning beside the update, the batch draw, the garbage
// collector's threads): timing the step alone, 'auto' ran W3 slower than one thread on a quiet
// machine (bench/RESULTS.md, session 5's quiet run, and issue 21 in session 6). A second
// vCPU of a shared machine comes and goes (bench/RESULTS.md: two threads ran W3 at 0.75× one
// thread's time on a quiet minute and at 1.3× on a busy one), so the choice is measured, not
// assumed, and measured again from time to time.
import { ownMemoryBytes } from '../tensor/kernels/wasmKernels.js'
import { closers } from './closerInternals.js'
import {
  explicitThreads,
  helperReady,
  helperRunning,
  helperThreadId,
  spawnHelper,
  startHelper,
  stopHelper,
  threadState,
} from './sharedKernels.js'

/**
 * The knobs of the choice (tests make them small). A probe is a sandwich: the thread count in
 * use, the other one, the one in use again. Each part starts with `warmup` unmeasured steps; the
 * middle part then measures at least `probe` steps and `probeMs` milliseconds, the outer two half
 * of that each. The outer parts stand on both sides of the middle one, so a run that is still
 * speeding up (rows drawn for the first time, code still compiling) favours neither count;
 * measured second, the other count would look faster by the run's own speed-up. The parts are
 * compared by their mean step (their total time over their steps), not their median: two threads
 * lose on a loaded machine by a long tail of slow steps (the helper waiting for a core), which a
 * median hides. And one probe never changes the count: the other count is chosen only when two
 * probes in a row find it faster (the second follows the first at once), so one probe disturbed
 * by the rest of the machine does not decide. Steps smaller than `minSize` never take part (no
 * probe, no helper started).
 */
export const autoTuning = {
  /**
   * a step's size (the multiply-adds of the products two threads would split, / 256) below which
   * it always runs on one thread: 2²² multiply-adds, a few hundred microseconds on one thread,
   * below which the hand-over to the helper (waking it, the shared memory's copies, joining)
   * costs about what the split saves (W3's 784–50–10 step on 100 images, about 1.6 million:
   * with every step on two threads its training took 1.05–1.58× the time it takes here on one,
   * median 1.20×, in six interleaved pairs, issue 21 session 19)
   */
  minSize: 16_384,
  /** steps on one thread before the first probe (a run that short never starts the helper) */
  firstProbeAfter: 30,
  /**
   * a differentiated step's size from which it probes as soon as `firstProbeAfter` steps have
   * run and the helper is ready, however short the run so far (no `firstProbeMs`): 2¹⁶, products
   * of 2²⁴ multiply-adds a step (a sparse operand's counted by its non-zeros), a few milliseconds
   * on one thread (W5's 784–256–128–10 on 128 images: about 2·10⁷). The helper starts after the
   * first such step and is ready — its kernels warmed, the shared memory's pages written once, on
   * the core the step leaves idle — some steps later, so the probe's steps on two threads run
   * about as fast as later ones and a probe costs little more than its steps on the slower
   * count. Smaller steps keep `firstProbeMs` (W3's 784–50–10 on 100 images, about 1.6·10⁶, is
   * below `minSize` anyway).
   */
  earlyProbeSize: 1 << 16,
  /**
   * whether a large step (`earlyProbeSize`) runs on two threads as soon as its helper is ready,
   * the probes then checking whether one thread is faster, rather than on one until two probes
   * find two faster (W5: ~90 of its 469 steps on one thread before and in those probes). Only
   * where a core taken by another process can be seen within a few steps (`busySteps`): without
   * that, it cost 1.14× when a core was taken from the start (its first ~90 steps on two slowed
   * threads, issue 21 session 15). Its first probe comes `twoFirstProbeAfter` steps after the two
   * threads start; one that keeps them is checked `second` steps later (not `earlySecond`), the
   * `busySteps` windows guarding the steps between; bench/w5Auto.ts W5AUTO_TWOFIRST=0 turns it off
   */
  twoFirst: true,
  /**
   * with `twoFirst`, steps on two threads before the first probe. What two threads lose to on a
   * machine with two cores or more is another process on the second core, and the wait for a
   * core (`busySteps`) shows that within a window: a probe is left for what the wait cannot show
   * (a vCPU taken by the host outside the VM), so it comes late. A probe's part on one thread
   * costs its steps: at 40 (before), W5's first probe ran 24 steps on one thread, ~1.5 ms each
   * lost on a calm machine, where 12 of 14 such probes found two threads 1.03–1.70× faster and
   * none left them without a window that waited (issue 21, session 19); from 500, W5's epoch
   * (469 steps) runs no probe unless a window waits
   */
  twoFirstProbeAfter: 500,
  /**
   * with `twoFirst`, while two threads run between probes: windows of this many steps on two
   * threads, each checked for a core taken by another process (`coreWaitMs`); a window in which
   * this thread and the helper waited for a core `busyShare` of its time or more starts a probe
   * at once, at its part on one thread (then two again), and that probe leaves two threads if one
   * is faster (`margin`), with no second probe. W5 built, the first 8 two-thread steps waited
   * 0.31–0.54 of their time while other jobs ran (load 2), later windows of 8 0–0.51; beside a
   * busy-loop process 0.65–1.0; but the start's own contention (compiling, collecting, other jobs
   * starting) reached 0.9–1.0 too, where two threads then won: hence a probe, not a move. These
   * windows stand in for the watch (`watch`) on two threads: a slow window that did not wait is
   * the host's noise (session 19: 9 such watch probes, waits 0.16–0.57, all kept two threads; 3 of
   * 4 at 0.74–0.84 left them). After a probe a window must also be `watchRatio` times slower than
   * the probe's two-thread steps. Where the wait cannot be read (not Linux) a large step starts on
   * one thread, as without `twoFirst`
   */
  busySteps: 16,
  busyShare: 0.6,
  /**
   * such a step's first probe comes after this many steps (once the helper is ready; with
   * `twoFirst`, `twoFirstProbeAfter`), and its probes are shorter — `earlyWarmup` unmeasured
   * steps a part, the middle part `earlyProbe` steps and `earlyProbeMs` at least, the outer
   * ones half of that — so that a run of a few hundred steps (W5's epoch: 469) decides while
   * most of it is still ahead: with the defaults'
   * probes of ~100 steps, two agreeing ones took W5 to step 120–210, and a switched run spent
   * only 260–340 of its steps on two threads. Its steps are long (milliseconds), so 20 of them
   * still outweigh a stray time slice; two agreeing probes still decide
   */
  earlyFirstProbeAfter: 12,
  earlyWarmup: 4,
  earlyProbe: 20,
  earlyProbeMs: 80,
  /**
   * steps after a large step's first decision (its two agreeing probes, or one that kept the
   * count) before the probe that checks it, instead of `second`: on this project's shared 2-vCPU
   * VM the speed of the same one-thread W5 run moves by up to 1.5× from one run to the next
   * (2.08–3.29 s within a minute, issue 21 session 14), so a first decision taken in a disturbed
   * stretch is checked within the same epoch (W5: at about step 250 of 469; with `second` the
   * check came after the epoch). A check costs its middle part's steps on the other count.
   */
  earlySecond: 120,
  /**
   * between probes, the steps are watched in windows of `watch` steps: a window whose mean step
   * is over `watchRatio` times the mean the last probe measured for the count in use starts a
   * probe at once (the window's mean then stands for the count in use until that probe ends).
   * Two threads lose most when another process takes a core (the helper, preempted mid-chunk,
   * holds the step up by a time slice: W5 on two threads ran 4.1–4.2 s beside one-thread runs of
   * 2.5–2.9 s, CPU ≈ wall, at 07:36 UTC in session 14), and such a stretch may come after the
   * decision. On two threads with `twoFirst` the `busySteps` windows watch instead; 0 turns the
   * watch off
   */
  watch: 20,
  watchRatio: 1.3,
  /**
   * milliseconds of steps before the first probe, too: a probe costs its helper's start and its
   * steps on the losing count (W5, 469 steps of ~6 ms, paid about 0.2 s of wall and 0.4 s of CPU
   * for one, bench/RESULTS.md), and pays back only over the steps after it, at best the splits'
   * share of a step (W5's: about a tenth). The time a run has taken so far is the chooser's only
   * guess at the time it has left, so a probe waits until a tenth of that time would repay it: a
   * run shorter than this never starts the helper
   */
  firstProbeMs: 5_000,
  /** unmeasured steps before each part of a probe: a new helper's code warms up */
  warmup: 10,
  /** measured steps of a probe's middle part (the other count); half of it in each outer part */
  probe: 30,
  /**
   * measured milliseconds of the middle part at least (half of it in each outer part): W5's steps
   * of ~6 ms need 30 steps for 150 ms, W3's of ~0.7 ms about 200; a time slice lost to another
   * process costs several milliseconds
   */
  probeMs: 150,
  /**
   * a probe that finds two threads in use this many times slower than one decides alone, with no
   * probe to agree: two threads lose this much when another process takes a core (W5: 4.1–4.2 s
   * against 2.5–2.9 s on one thread), each step then costing a third more, where a wrong move to
   * one thread costs at most what the splits save (W5: a fifth of a step) until the next probe.
   * Under `twoFirst` a run whose second core is busy from the start thus leaves two threads after
   * one probe (W5: ~50 fewer steps on them)
   */
  leaveTwo: 1.3,
  /** steps between a probe that finds the other count faster and the probe that must agree */
  confirm: 0,
  /**
   * steps before the first probe at which the helper starts, without waiting for it: a worker
   * takes tens to hundreds of milliseconds to start, which the first probe would otherwise wait
   */
  spawnAhead: 20,
  /**
   * steps before the probe after the first decision: the first comes while the run's caches are
   * still warming (W3 at 13:10 UTC: 1.02 ms a step on two threads in the first probe, 0.66–0.77 in
   * later ones), so its choice is checked soon
   */
  second: 400,
  /**
   * steps between probes after that; doubled after each decision that keeps the choice (up to
   * 8×), back to this after one that changes it: a probe's part on the losing count costs its
   * steps
   */
  every: 2_000,
  /**
   * the other thread count's mean step must be at most this share of the one in use: W5's split
   * products save about a tenth of its step, so a 10% margin would leave it on one thread on a
   * quiet machine; two agreeing probes, not the margin, guard against noise
   */
  margin: 0.95,
}

/**
 * The probes' outcomes so far (at most 64; benchmarks read it): the step count at the probe's
 * end, the thread count in use, and the mean step (ms) on it and on the other count.
 */
export const probeLog: {
  at: number
  mode: 1 | 2
  inUse: number
  other: number
  /** the wait for a core over the time of the window that started this probe (`busyShare`) */
  waited?: number
}[] = []

/** Where the chooser stands: the thread count in use, and the probe under way (if any). */
export class ThreadChooser {
  /** the thread count in use outside probes */
  mode: 1 | 2 = 1
  private calls = 0
  /** decisions so far (a pair of probes that switched, or a probe that kept the count) */
  private decisions = 0
  private probeAt = autoTuning.firstProbeAfter
  /** milliseconds of the steps recorded so far */
  private elapsed = 0
  /** `every` times this between the probes after the second decision */
  private spacing = 1
  /** true after a probe that found the other count faster: the next one must agree */
  private leaning = false
  /** true once a large step's two threads have started (`autoTuning.twoFirst`) */
  private twoStarted = false
  /** the probe's part under way (0: the count in use, 1: the other, 2: in use again), or −1 */
  private part = -1
  /** whether the probe under way is a large step's short one (`autoTuning.earlyProbe`) */
  private quick = false
  /** steps of the part so far, and of them the measured ones' count and milliseconds */
  private inPart = 0
  private measured = 0
  private partMs = 0
  /** the probe's measured milliseconds and steps on the count in use [0] and the other [1] */
  private total: [number, number] = [0, 0]
  private steps: [number, number] = [0, 0]
  /** the mean step the last probe measured on the count in use since (0: none yet) */
  private expected = 0
  /** the watch's window so far (`autoTuning.watch`): its steps and milliseconds */
  private watched = 0
  private watchedMs = 0
  /** the last step, timed when the next one starts (`finished`, `want`) */
  private last: { asked: 1 | 2; ran: 1 | 2; start: number } | null = null
  /** the threads' wait for a core so far when the last step started (`want`'s `wait`), or −1 */
  private lastWait = -1
  /** `busySteps`' window so far: its steps, their milliseconds and their wait for a core */
  private busy = { steps: 0, ms: 0, wait: 0 }
  /** the share of a window that waited for a core (`busyShare`), then of the probe it started */
  private busyShare = 0
  private busyProbe = 0

  /** Whether a probe is under way. */
  get probing(): boolean {
    return this.part >= 0
  }

  /** Whether the first probe comes within `autoTuning.spawnAhead` steps (or has come). */
  get probeSoon(): boolean {
    const ahead = autoTuning.spawnAhead
    return this.calls + ahead >= this.probeAt && this.ranLong(ahead)
  }

  /**
   * Whether the run has lasted long enough for a probe (`autoTuning.firstProbeMs`), or will have
   * after `ahead` more steps as long as its steps so far.
   */
  private ranLong(ahead = 0): boolean {
    const mean = this.calls > 0 ? this.elapsed / this.calls : 0
    return this.elapsed + ahead * mean >= autoTuning.firstProbeMs
  }

  /** Steps recorded so far. */
  get recorded(): number {
    return this.calls
  }

  /**
   * The thread count the next step, starting at `now` (ms), should run on; the step before it
   * (`finished`) is recorded with its period, from its start to `now`. With `early`, a probe due
   * by its count of steps starts however short the run so far (see `autoTuning.earlyProbeSize`).
   * `wait`: the milliseconds the threads have waited for a core so far (`coreWaitMs`), −1 where
   * unknown.
   */
  want(now?: number, early = false, wait = -1): 1 | 2 {
    const last = this.last
    if (last !== null && now !== undefined) {
      this.last = null
      const waited = wait >= 0 && this.lastWait >= 0 ? wait - this.lastWait : -1
      this.record(last.asked, last.ran, now - last.start, waited)
    }
    this.lastWait = wait
    // a large step's first probe comes sooner (`earlyFirstProbeAfter`); with `twoFirst` (where a
    // taken core can be seen), after its first steps on two threads (`twoFirstProbeAfter`)
    const first = this.decisions === 0 && !this.leaning
    if (early && first && autoTuning.twoFirst && !this.twoStarted && wait >= 0) {
      this.twoStarted = true
      this.mode = 2
      this.probeAt = this.calls + autoTuning.twoFirstProbeAfter
    }
    const due =
      this.calls >=
      (early && first && !this.twoStarted ? autoTuning.earlyFirstProbeAfter : this.probeAt)
    if (this.part < 0 && due && (early || this.ranLong())) {
      this.part = 0
      this.quick = early
      this.inPart = this.measured = this.partMs = 0
      this.total = [0, 0]
      this.steps = [0, 0]
      if (this.busyShare > 0) {
        // a window waited for a core: straight to the part on one thread; two threads are
        // measured after it only (the window's steps, a run's first on two threads, ran slower
        // than later ones while the process still compiled, which would count against two)
        this.busyProbe = this.busyShare
        this.busyShare = 0
        this.part = 1
      }
    }
    return this.part === 1 ? this.other() : this.mode
  }

  /**
   * A step that started at `start` (ms) ran on `ran` threads, having been asked for `asked`: it
   * is recorded when the next step asks (`want(now)`), with the time between their starts.
   */
  finished(asked: 1 | 2, ran: 1 | 2, start: number): void {
    this.last = { asked, ran, start }
  }

  /**
   * A step ran on `ran` threads in `ms` milliseconds, having been asked for `asked`, and its
   * threads waited `waited` ms of it for a core (−1: unknown). A step that could not run on two
   * (no helper, a batch the shared path does not take) ends a probe on one thread.
   */
  record(asked: 1 | 2, ran: 1 | 2, ms: number, waited = -1): void {
    this.calls++
    this.elapsed += ms
    if (this.part < 0) {
      // on two threads, where the wait for a core can be read, windows that waited start probes
      // (`busySteps`); elsewhere the watch's slow windows do
      if (this.twoStarted && this.mode === 2 && ran === 2 && waited >= 0) this.busyStep(ms, waited)
      else this.watchStep(ms)
      return
    }
    if (ran !== asked) {
      this.mode = 1
      this.leaning = false
      this.decide(false)
      return
    }
    const { margin } = autoTuning
    const { warmup, probe, probeMs } = this.quick
      ? {
          warmup: autoTuning.earlyWarmup,
          probe: autoTuning.earlyProbe,
          probeMs: autoTuning.earlyProbeMs,
        }
      : autoTuning
    const side = this.part === 1 ? 1 : 0
    if (this.inPart++ >= warmup) {
      this.measured++
      this.partMs += ms
      this.total[side] += ms
      this.steps[side]++
    }
    // the middle part measures `probe` steps and `probeMs`, the outer ones half of each
    const steps = this.part === 0 ? Math.ceil(probe / 2) : this.part === 2 ? probe >> 1 : probe
    const ms0 = this.part === 1 ? probeMs : probeMs / 2
    if (this.measured < steps || this.partMs < ms0) return
    if (this.part < 2) {
      this.part++
      this.inPart = this.measured = this.partMs = 0
      return
    }
    // mean steps: a long tail of slow steps counts
    const mean = (i: 0 | 1) => this.total[i] / Math.max(1, this.steps[i])
    const faster = mean(1) <= margin * mean(0)
    // two threads in use leave on one probe when they lose by `leaveTwo`, or at all (`margin`)
    // when a window that waited for a core started the probe
    const clear =
      this.mode === 2 &&
      (mean(0) >= autoTuning.leaveTwo * mean(1) || (this.busyProbe > 0 && faster))
    // what the watch expects of the count in use after this probe
    this.expected = faster && (this.leaning || clear) ? mean(1) : mean(0)
    this.watched = this.watchedMs = 0
    if (probeLog.length < 64) {
      const entry = { at: this.calls, mode: this.mode, inUse: mean(0), other: mean(1) }
      probeLog.push(this.busyProbe > 0 ? { ...entry, waited: this.busyProbe } : entry)
    }
    this.busyProbe = 0
    if (faster && !this.leaning && !clear) {
      // one probe does not decide: the next one, at once, must agree
      this.leaning = true
      this.part = -1
      this.probeAt = this.calls + autoTuning.confirm
      return
    }
    this.leaning = false
    this.decide(faster)
  }

  /**
   * A step between probes: at the end of each window of `autoTuning.watch` steps, a mean step
   * over `watchRatio` times the last probe's on the count in use starts a probe at the next step.
   */
  private watchStep(ms: number): void {
    const { watch, watchRatio } = autoTuning
    if (watch <= 0 || this.expected <= 0 || this.leaning) return
    this.watchedMs += ms
    if (++this.watched < watch) return
    const mean = this.watchedMs / this.watched
    this.watched = this.watchedMs = 0
    if (mean <= watchRatio * this.expected) return
    this.expected = mean // until the probe measures anew: a slow machine starts one probe, not one a window
    this.probeAt = Math.min(this.probeAt, this.calls)
  }

  /**
   * A step on two threads between probes (`twoFirst`, the wait read): a window of
   * `autoTuning.busySteps` steps whose threads waited for a core `busyShare` of its time or more
   * starts a probe at the next step, from its part on one thread.
   */
  private busyStep(ms: number, waited: number): void {
    const w = this.busy
    if (waited < 0) {
      w.steps = w.ms = w.wait = 0
      return
    }
    w.steps++
    w.ms += ms
    w.wait += waited
    if (w.steps < autoTuning.busySteps) return
    const share = w.wait / w.ms
    // after a probe, only a window slower than it measured two threads (`watchRatio`): where the
    // threads wait that much all along and still win, the probe has said so once
    const slow = this.expected <= 0 || w.ms > autoTuning.watchRatio * this.expected * w.steps
    if (share >= autoTuning.busyShare && slow) {
      this.busyShare = share
      this.probeAt = Math.min(this.probeAt, this.calls)
    }
    w.steps = w.ms = w.wait = 0
  }

  private other(): 1 | 2 {
    return this.mode === 1 ? 2 : 1
  }

  /** Ends a probe with a decision: `change` to the other count, or keep this one. */
  private decide(change: boolean): void {
    if (change) {
      this.mode = this.other()
      this.spacing = 1
    } else if (this.decisions >= 2) this.spacing = Math.min(8, 2 * this.spacing)
    this.part = -1
    this.decisions++
    // a first decision that keeps a large step's two threads (`twoFirst`) is checked `second`
    // steps later; the watch guards the steps between
    const second =
      this.quick && !(this.twoStarted && this.mode === 2)
        ? autoTuning.earlySecond
        : autoTuning.second
    this.probeAt = this.calls + (this.decisions === 1 ? second : autoTuning.every * this.spacing)
  }
}

/** The timer of differentiated steps (tapeThreads.ts). */
let chooser = new ThreadChooser()

/** A fresh choice (`setKernelThreads('auto')`): one thread until the next probe. */
export function resetChooser(): void {
  chooser = new ThreadChooser()
}

/**
 * The thread count a step of `size` (see `autoTuning.minSize`) should run on: 2 after
 * `setKernelThreads(2)` (where the helper runs), 1 after `setKernelThreads(1)`, and under
 * `'auto'` the chooser's (starting the helper for the first probe; it then sleeps while one
 * thread is chosen, until `closeWorkers`).
 */
export function stepThreads(size: number): 1 | 2 {
  const requested = threadState.requested
  if (requested !== 'auto') return explicitThreads()
  if (size < autoTuning.minSize) return 1
  if (size >= autoTuning.earlyProbeSize) {
    // a large step: the helper starts (warming, see spawnHelper) as soon as the step is known to
    // be large, after the tape's first call, which sized the kernels' own memory; two threads
    // (`twoFirst`) or a probe start once it is ready
    if (!helperRunning()) {
      closers.add(stopHelper)
      spawnHelper(ownMemoryBytes())
    }
    const ready = helperReady()
    return chooser.want(performance.now(), ready, ready ? coreWaitMs() : -1)
  }
  const want = chooser.want(performance.now())
  // once started, the helper stays (asleep in Atomics.wait while one thread is chosen; closeWorkers
  // ends it). A worker takes 50–250 ms to start: it is started some steps before the first probe
  // without waiting, so the probe seldom waits for it
  if (!helperRunning() && (want === 2 || chooser.probeSoon)) {
    closers.add(stopHelper)
    if (want === 2)
      startHelper() // if it cannot start, the step runs on one thread, probe ends
    else spawnHelper()
  }
  return want
}

/** After a step `stepThreads` was asked about: it ran on `ran` threads in `ms` milliseconds. */
export function recordStep(size: number, asked: 1 | 2, ran: 1 | 2, ms: number): void {
  if (threadState.requested === 'auto' && size >= autoTuning.minSize) {
    // timed to the next step's start (ThreadChooser.want); ms: this step's own time
    chooser.finished(asked, ran, performance.now() - ms)
  }
}

/** The thread count training steps run on now under `'auto'` (outside probes). */
export function autoThreads(): 1 | 2 {
  return chooser.mode === 2 && helperRunning() ? 2 : 1
}

/** What `coreWaitMs` uses of node:fs (got at run time: the entry stays browser-safe). */
interface SchedFs {
  openSync(path: string, flags: string): number
  closeSync(fd: number): void
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number
}

/**
 * The run-queue statistics of this thread and of the helper: Linux's
 * /proc/<pid>/task/<tid>/schedstat, each opened once (`fs` false where there is none).
 */
const sched = {
  fs: null as SchedFs | null | false,
  self: -1,
  helper: -1,
  tid: 0,
  text: new Uint8Array(80),
}

/**
 * Milliseconds this thread and the helper have waited for a core so far (schedstat's second
 * field: time runnable but not running), or −1 where that cannot be read (no /proc, no helper).
 * Two threads lose to one when another process takes a core (the helper, preempted mid-chunk,
 * holds the step up by a time slice); this shows it within a few steps, where a probe needs
 * dozens. A read costs a few microseconds (pread of an open file).
 */
export function coreWaitMs(): number {
  const tid = helperThreadId()
  if (tid === 0 || sched.fs === false) return -1
  try {
    if (sched.fs === null) {
      const proc = (globalThis as { process?: NodeJS.Process }).process
      if (typeof proc?.getBuiltinModule !== 'function') throw new Error('no fs')
      sched.fs = proc.getBuiltinModule('node:fs') as SchedFs
      sched.self = sched.fs.openSync('/proc/thread-self/schedstat', 'r')
    }
    const fs = sched.fs
    if (sched.tid !== tid) {
      if (sched.helper >= 0) fs.closeSync(sched.helper)
      sched.helper = fs.openSync(`/proc/self/task/${tid}/schedstat`, 'r')
      sched.tid = tid
    }
    return (waitOf(fs, sched.self) + waitOf(fs, sched.helper)) / 1e6
  } catch {
    sched.fs = false
    return -1
  }
}

/** The second number (nanoseconds waited on a run queue) of the schedstat open at `fd`. */
function waitOf(fs: SchedFs, fd: number): number {
  const t = sched.text
  const n = fs.readSync(fd, t, 0, t.length, 0)
  let i = 0
  while (i < n && t[i] !== 32) i++
  let v = 0
  for (i++; i < n && t[i] >= 48 && t[i] <= 57; i++) v = v * 10 + (t[i] - 48)
  return v
}
