import { freeze } from 'immer'
import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs'
import { FusedStages, instantiate, StoppableRun } from './engine/fusion.js'
import { initialState as stepZero } from './engine/state.js'
import { show } from './errors.js'
import { type BatchFeed, openBatches, type DataSource } from './loop/batchesInternals.js'
import type { TrainMode } from './loop/mode.js'
import { rng } from './random/rng.js'
import { checkedEmit } from './loop/setDebug.js'
import { TrainError } from './loop/TrainError.js'
import { TrainConfigC } from './state/configCodecs.js'
import { decodeOptions } from './state/decode.js'
import { freezeTree } from './state/freeze.js'
import type { TrainState } from './state/types.js'
import { mapTree, type Params } from './tree/tree.js'

/** What `train` takes. */
export interface TrainConfig<P extends Params, B = unknown> {
  /** the initial parameters (copied: later changes to the caller's tree do not reach the run) */
  readonly params: P
  /**
   * One training step: an operator from the state entering the step to the state after it
   * (e.g. `pipe(perturb(…), loss(…), gradient(), update(0.1))`). Subscribed once per run;
   * it must emit exactly one state (`step + 1`) per state it receives, synchronously or later.
   */
  readonly step: OperatorFunction<TrainState<P>, TrainState<P>>
  /** batches, one per step, put on the state entering the step as `batch`; the run completes when they end */
  readonly data?: DataSource<B>
  /** seeds `state.rng` (random designs, samplers); default 0 */
  readonly seed?: number
  /** `sync()` (default), `chunked({ … })`, `pausable(paused$, mode)` */
  readonly mode?: TrainMode
  /**
   * Start from this state instead of step 0 — a restored checkpoint (`restore(json)`), as
   * `resume` does: the run emits it first, then feeds it into `step`; `params` and `seed` are
   * not used. It is validated (`train: from.step: expected …`) and copied.
   */
  readonly from?: TrainState<P>
}

/**
 * Runs training as a cold Observable of states: each subscription is an independent run that
 * emits the initial state (step 0: the parameters, `loss` and `lr` NaN, `grad` null), then
 * the state after every step, feeding each back into `step`. Every state is frozen, parameter
 * trees included; a kept state stays valid forever.
 *
 * The loop is a trampoline: steps that complete synchronously run in a `while` loop (no
 * recursion, constant stack, constant memory when nothing keeps old states), and the loop
 * checks after every step whether the subscriber is still there, so `take`, `takeWhile`, the
 * stopping rules and `unsubscribe` halt computation at once. A step or data source that
 * delivers later simply resumes the loop when it does.
 *
 * A step made only of gradstream's stages (`perturb`, `loss`, `gradient`, `update`) runs as
 * one function call per step, with no RxJS operator between the stages, and the stopping rules
 * piped straight onto the run (`maxSteps`, `lossBelow`, …) are checked inside the loop; with any
 * other operator in between, everything works the same through ordinary operators, only a
 * little slower (src/engine/fusion.ts).
 *
 * Completes when the data ends or the step completes (or a downstream stopping rule ends
 * it). Errors thrown by user code (the objective, a schedule, the data source, the step)
 * error the stream with a `TrainError` carrying the failing step, the last good state and
 * the cause.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { tensor, train } from 'gradstream'
 * import {
 *   centralDifference,
 *   gradient,
 *   loss,
 *   maxSteps,
 *   perturb,
 *   update,
 * } from 'gradstream/operators'
 *
 * train({
 *   params: tensor([-3, 4]),
 *   step: pipe(
 *     perturb(centralDifference()),
 *     loss((x) => x.data[0] ** 2 + x.data[1] ** 2),
 *     gradient(),
 *     update(0.1),
 *   ),
 * })
 *   .pipe(maxSteps(100), last())
 *   .subscribe((s) => console.log(s.step, s.params.data))
 * // → 100 Float64Array(2) [ -6.111107928998789e-10, 8.148143905314271e-10 ]
 * ```
 * @throws {TypeError} `train: step: expected a function, got undefined` (when called)
 * @throws {TypeError} `train: config.lr: expected no such key (known: params, from, step, seed, data, mode), got 0.1`
 * @see gradientDescent, chunked, pausable, TrainError
 */
export function train<P extends Params, B = unknown>(
  config: TrainConfig<P, B>,
): Observable<TrainState<P>> {
  // once, when the run is built (never per step): kinds, ranges and unknown keys of the config
  const valid = decodeOptions(TrainConfigC, config, 'train', 'config')
  const { params, step, data, seed = 0, mode = { kind: 'sync' } } = config
  const start = valid.from === undefined ? undefined : startFrom(valid.from as TrainState<P>)
  const chunk = mode.kind === 'chunked' ? (mode.steps ?? 100) : Infinity

  // a StoppableRun: stopping rules piped onto it run inside the loop (see src/engine/fusion.ts)
  return new StoppableRun<TrainState<P>>((subscriber, stop) => {
    let state = start ?? initialState(params, seed)
    /** a state was fed into the step and its successor has not come back yet */
    let outstanding = false
    /** inside the pump loop (so a synchronous result does not re-enter it) */
    let running = false
    let started = false
    let paused = false
    let inChunk = 0
    /**
     * steps may start now: always in sync mode; in chunked mode only inside a chunk the
     * scheduler ran (a batch or a late result arriving between chunks waits for the next one)
     */
    let open = mode.kind !== 'chunked'
    let pending: Subscription | null = null
    let batches: BatchFeed | null = null
    const subs: Subscription[] = []

    const fail = (e: unknown) => {
      if (!subscriber.closed) {
        subscriber.error(e instanceof TrainError ? e : new TrainError(e, state.step + 1, state))
      }
    }

    const scheduleChunk = () => {
      if (pending !== null || subscriber.closed) return
      pending = mode.scheduler!.schedule(() => {
        pending = null
        inChunk = 0
        open = true
        pump()
      }, mode.delay ?? 0)
    }

    const pump = () => {
      if (running || outstanding || !started || !open) return
      running = true
      try {
        while (!subscriber.closed && !outstanding && !paused) {
          if (inChunk >= chunk) {
            open = false
            scheduleChunk()
            break
          }
          let input: TrainState<P> = state
          if (batches !== null) {
            const b = batches.take()
            if (b === 'wait') break
            if (b === 'done') {
              subscriber.complete()
              break
            }
            input = Object.freeze({ ...state, batch: b.value })
          }
          outstanding = true
          inChunk++
          // the feed's subscribers: the step's operators, unless it runs `direct`, and anything
          // else the step subscribed to its input
          const fs = feeders
          for (let i = 0; i < fs.length; i++) fs[i].next(input)
          if (direct !== null) accept(direct(input), true)
        }
      } catch (e) {
        fail(e)
      } finally {
        running = false
      }
    }

    const resume = () => {
      if (mode.kind === 'chunked') scheduleChunk()
      else pump()
    }

    /**
     * Emits a state, through the stopping rules piped onto the run (`stop`): after a state that
     * carries a reason the run completes. An error thrown by a rule is the stream's error as it
     * is (not a TrainError: the rule runs downstream of the step, as its operators would).
     */
    const emitState =
      stop === null
        ? (s: TrainState<P>) => subscriber.next(s)
        : (s: TrainState<P>) => {
            let out: TrainState<P>
            try {
              out = stop(s)
            } catch (e) {
              subscriber.error(e)
              return
            }
            subscriber.next(out)
            if (out.stopReason !== undefined) subscriber.complete()
          }

    // debug mode (setDebug): each state's arrays checked once its subscribers are done with it
    const emit = checkedEmit(emitState, fail)
    emit(state)
    if (subscriber.closed) return

    /**
     * The step's result: checked, frozen if the step did not freeze it (`fused`: built by
     * gradstream's stages, frozen by construction), emitted.
     */
    const accept = (s: TrainState<P>, fused: boolean) => {
      if (!outstanding) {
        fail(new Error(`step: expected one state per step, got another after step ${state.step}`))
        return
      }
      if (typeof s !== 'object' || s === null || s.step !== state.step + 1) {
        fail(
          new TypeError(
            `step: expected the state of step ${state.step + 1} (does the step end with update() or applyUpdates()?), got ${show(typeof s === 'object' && s !== null ? `step ${String(s.step)}` : s)}`,
          ),
        )
        return
      }
      if (!fused && !Object.isFrozen(s)) {
        freezeTree(s.params)
        Object.freeze(s)
      }
      outstanding = false
      state = s
      emit(s)
      if (!running) pump() // a late (asynchronous) result: carry on within the chunk budget
    }

    // The step's input: a plain Observable whose subscribers the loop calls directly (a Subject
    // would allocate a closure per `next`); copy-on-write, so (un)subscribing mid-step is safe.
    let feeders: readonly Subscriber<TrainState<P>>[] = []
    const feed = new Observable<TrainState<P>>((f) => {
      feeders = [...feeders, f]
      return () => {
        feeders = feeders.filter((g) => g !== f)
      }
    })
    const out = step(feed)
    /**
     * A step made only of gradstream's stages (`pipe(perturb, loss, gradient, update)`) is one
     * function of the state (src/engine/fusion.ts): the loop calls it directly, no RxJS hop a step.
     * Errors it throws are caught by `pump` as the step's error, as they would be in a `map`.
     */
    const direct =
      out instanceof FusedStages && out.base === feed
        ? instantiate<TrainState<P>, TrainState<P>>(out.factories, {
            add: (t) => subs.push(t),
            error: fail,
          })
        : null
    if (direct === null) {
      subs.push(
        out.subscribe({
          next: (s) => accept(s, false),
          error: fail,
          complete: () => subscriber.complete(),
        }),
      )
    }
    if (mode.paused$ !== undefined && !subscriber.closed) {
      subs.push(
        mode.paused$.subscribe({
          next: (p) => {
            const was = paused
            paused = p === true
            if (was && !paused && !running && !outstanding) resume()
          },
          error: fail,
        }),
      )
    }
    if (data !== undefined && !subscriber.closed) {
      batches = openBatches(data, () => !running && !outstanding && !paused && pump(), fail)
    }
    started = true
    if (mode.kind === 'chunked') scheduleChunk()
    else pump()

    return () => {
      pending?.unsubscribe()
      pending = null
      for (const s of subs) s.unsubscribe()
      batches?.close()
    }
  })
}

/** A frozen copy of a (decoded) state to continue from, its `stopReason` and `batch` dropped. */
function startFrom<P extends Params>(from: TrainState<P>): TrainState<P> {
  const { stopReason: _stop, batch: _batch, ...rest } = from
  return freeze(rest, true) as TrainState<P>
}

/** Step 0: a frozen copy of the parameters, nothing evaluated yet, the seeded generator. */
function initialState<P extends Params>(params: P, seed: number): TrainState<P> {
  const r = rng(seed).state()
  Object.freeze(r.words)
  return stepZero(freezeTree(mapTree(params, (v) => v)), Object.freeze(r))
}
