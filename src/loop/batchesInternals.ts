import { isObservable, type Observable, type Subscription } from 'rxjs'
import { show } from '../errors.js'

/** A pull-style view of any data source: a batch now, "wait and I will wake you", or the end. */
export interface BatchFeed {
  take(): { readonly value: unknown } | 'wait' | 'done'
  close(): void
}

export type DataSource<B> = Iterable<B> | AsyncIterable<B> | Observable<B>

/** Throws unless `data` is an iterable, an async iterable or an Observable. */
export function checkData(fn: string, data: unknown): void {
  if (
    data === null ||
    typeof data === 'string' ||
    (typeof data !== 'object' && typeof data !== 'function') ||
    !(
      isObservable(data) ||
      typeof (data as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
    )
  ) {
    throw new TypeError(
      `${fn}: data: expected an iterable, an async iterable or an Observable of batches, got ${show(data)}`,
    )
  }
}

/**
 * Opens `data` for one run. `wake` is called when a batch (or the end) arrives after `take`
 * said 'wait'; `fail` when the source errors. A source that is both iterable and an
 * Observable (gradstream's samplers) is pulled as an iterable, one batch per step, and
 * `return()`ed on close. A plain Observable's batches are queued as they come (a synchronous
 * one is drained at once: prefer an iterable for endless synchronous data).
 */
export function openBatches<B>(
  data: DataSource<B>,
  wake: () => void,
  fail: (e: unknown) => void,
): BatchFeed {
  if (typeof (data as Iterable<B>)[Symbol.iterator] === 'function') {
    const it = (data as Iterable<B>)[Symbol.iterator]()
    let done = false
    return {
      take() {
        if (done) return 'done'
        const r = it.next()
        if (r.done) {
          done = true
          return 'done'
        }
        return { value: r.value }
      },
      close() {
        if (!done) {
          done = true
          it.return?.()
        }
      },
    }
  }
  if (typeof (data as AsyncIterable<B>)[Symbol.asyncIterator] === 'function') {
    const it = (data as AsyncIterable<B>)[Symbol.asyncIterator]()
    let ready: { value: unknown } | null = null
    let pending = false
    let done = false
    let closed = false
    return {
      take() {
        if (ready !== null) {
          const r = ready
          ready = null
          return r
        }
        if (done) return 'done'
        if (!pending) {
          pending = true
          it.next().then(
            (r) => {
              pending = false
              if (closed) return
              if (r.done) done = true
              else ready = { value: r.value }
              wake()
            },
            (e) => {
              pending = false
              if (!closed) fail(e)
            },
          )
        }
        return 'wait'
      },
      close() {
        if (closed) return
        closed = true
        if (!done) it.return?.()?.catch(() => undefined)
      },
    }
  }
  {
    const data$ = data as Observable<B>
    const queue: unknown[] = []
    let head = 0
    let done = false
    const sub: Subscription = data$.subscribe({
      next: (b) => {
        queue.push(b)
        if (queue.length - head === 1) wake()
      },
      error: fail,
      complete: () => {
        done = true
        wake()
      },
    })
    return {
      take() {
        if (head < queue.length) {
          const value = queue[head]
          queue[head++] = undefined
          if (head > 1024 && head * 2 > queue.length) {
            queue.splice(0, head)
            head = 0
          }
          return { value }
        }
        return done ? 'done' : 'wait'
      },
      close: () => sub.unsubscribe(),
    }
  }
}
