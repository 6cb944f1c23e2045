import type { Observable, SchedulerLike } from 'rxjs'

/**
 * How `train` drives its loop: synchronously (the default: fastest, the whole run happens
 * inside `subscribe` unless the step or the data is asynchronous), or in chunks of `steps`
 * scheduled on `scheduler` (after `delay` ms) so the event loop gets a turn between chunks, and
 * optionally paused while `paused$`'s latest value is true.
 *
 * Build one with `sync()`, `chunked({ … })` or `pausable(paused$, mode)`.
 */
export interface TrainMode {
  readonly kind: 'sync' | 'chunked'
  /** steps per chunk (chunked mode) */
  readonly steps?: number
  readonly scheduler?: SchedulerLike
  /** ms to wait before each chunk (chunked mode) */
  readonly delay?: number
  /** pause while the latest value is true, resume on false */
  readonly paused$?: Observable<boolean>
}
