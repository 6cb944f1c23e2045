import { asyncScheduler, defer, tap, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs'
import { show } from '../src/errors.js'
import { checkpoint } from '../src/state/checkpoint.js'
import type * as t from 'io-ts'
import { functionC } from '../src/state/codecs.js'
import { CheckpointEveryMsC, CheckpointEveryStepsC } from '../src/state/configCodecs.js'
import { decode } from '../src/state/decode.js'
import type { TrainState } from '../src/state/types.js'

/** How often `checkpointEvery` writes: every `steps` steps, or every `ms` milliseconds. */
export type CheckpointInterval =
  t.TypeOf<typeof CheckpointEveryStepsC> | t.TypeOf<typeof CheckpointEveryMsC>

/** Receives each checkpoint: the JSON text `restore` reads, and the state it holds. */
export type CheckpointSink<S extends TrainState = TrainState> = (json: string, state: S) => void

/**
 * Hands a checkpoint of the training state to `sink` at regular intervals, passing every state
 * through unchanged. With `{ steps: k }` it writes each state whose `step` is a multiple of k
 * (not the first state it sees: that is where the run started); with `{ ms: t }` the first
 * state at least t ms (by `scheduler.now()`, default `asyncScheduler`) after the previous
 * write or the subscription. Unless `final: false`, the last state is written too when the
 * stream completes, errors (a `TrainError`'s last good state) or is unsubscribed (Ctrl-C), if
 * it was not written already — nothing computed is lost.
 *
 * The sink runs synchronously; an error it throws becomes the stream's error (on unsubscribe,
 * RxJS reports it as unhandled). Checkpoints are `checkpoint(state)` JSON: `restore` and
 * `resume` read them.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { restore, train } from 'gradstream'
 * import { checkpointEvery, gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * const written: number[] = []
 * let latest = ''
 * train({ params: [1], step })
 *   .pipe(
 *     maxSteps(1000),
 *     checkpointEvery({ steps: 250 }, (json, s) => {
 *       latest = json // e.g. writeFileSync('run.json', json)
 *       written.push(s.step)
 *     }),
 *   )
 *   .subscribe()
 * console.log(written, restore(latest).step) // → [ 250, 500, 750, 1000 ] 1000
 * ```
 * @param every `{ steps: k }` (k a positive integer) or `{ ms: t }` (t > 0), each with `final?` (default true)
 * @param sink `(json, state) => void`
 * @throws {RangeError} `checkpointEvery: every.steps: expected a positive integer, got 0`
 * @throws {TypeError} `checkpointEvery: sink: expected a function, got undefined`
 * @see restore, resume, evaluateEvery
 */
export function checkpointEvery<S extends TrainState>(
  every: CheckpointInterval,
  sink: CheckpointSink<S>,
): MonoTypeOperatorFunction<S> {
  if (typeof every !== 'object' || every === null || !('steps' in every || 'ms' in every)) {
    throw new TypeError(`checkpointEvery: every: expected { steps } or { ms }, got ${show(every)}`)
  }
  const byTime = 'ms' in every
  const opts = byTime
    ? decode(CheckpointEveryMsC, every, 'checkpointEvery', 'every')
    : decode(CheckpointEveryStepsC, every, 'checkpointEvery', 'every')
  decode(functionC, sink, 'checkpointEvery', 'sink')
  const final = opts.final !== false
  const steps = byTime ? 0 : (opts as { steps: number }).steps
  const ms = byTime ? (opts as { ms: number }).ms : 0
  const scheduler = (byTime && (opts as { scheduler?: SchedulerLike }).scheduler) || asyncScheduler

  return (source) =>
    defer(() => {
      let first = true
      let last: S | null = null
      let written: S | null = null
      let since = scheduler.now()
      const write = (s: S) => {
        sink(checkpoint(s), s)
        written = s
        since = scheduler.now()
      }
      const writeLast = () => {
        if (final && last !== null && written !== last) write(last)
      }
      return source.pipe(
        tap({
          next: (s) => {
            last = s
            const due = byTime ? scheduler.now() - since >= ms : !first && s.step % steps === 0
            first = false
            if (due) write(s)
          },
          complete: writeLast,
          error: writeLast,
          unsubscribe: writeLast,
        }),
      )
    })
}
