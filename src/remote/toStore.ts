import type { Observable, Subscription } from 'rxjs'

/** An external store over an Observable, in the shape React's `useSyncExternalStore` takes. */
export interface ObservableStore<T> {
  /** Registers a change listener; returns its removal. The first listener subscribes the source. */
  subscribe(onChange: () => void): () => void
  /** The latest value (the same object until the next one arrives). */
  getSnapshot(): T
  /** `'idle'` before the first listener, then `'running'`, `'complete'` or `'error'`. */
  status(): 'idle' | 'running' | 'complete' | 'error'
  /** The error the source ended with, if any. */
  error(): unknown
}

/**
 * Wraps an Observable as an external store for UI frameworks: the source is subscribed while at
 * least one listener is registered (and unsubscribed, stopping a run, when the last one leaves);
 * `getSnapshot` returns the latest value. In React, a run is then two lines (the second example).
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { chunked, toStore, train } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * const run$ = train({ params: [1], step, mode: chunked() }).pipe(maxSteps(300))
 * const store = toStore(run$, null) // the run starts with the first listener, not before
 * console.log(store.getSnapshot()) // → null
 * await new Promise<void>((done) => {
 *   const leave = store.subscribe(() => {
 *     if (store.getSnapshot()?.step !== 300) return
 *     leave() // the last listener leaves: the run is unsubscribed
 *     done()
 *   })
 * })
 * console.log(store.getSnapshot()?.step) // → 300
 * ```
 * @example
 * ```tsx
 * import { useSyncExternalStore } from 'react'
 * import { pipe } from 'rxjs'
 * import { chunked, sampleFrames, toStore, train } from 'gradstream'
 * import { gradient, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * const run$ = train({ params: [1], step, mode: chunked() })
 * const store = toStore(run$.pipe(sampleFrames()), null) // once, outside render
 * export function Readout() {
 *   const s = useSyncExternalStore(store.subscribe, store.getSnapshot)
 *   return <span>{s ? `step ${s.step}: loss ${s.loss}` : 'starting…'}</span>
 * }
 * ```
 * @param source$ the values to show (thin a fast run with `sampleFrames()` first)
 * @param initial the snapshot before the first value
 * @see sampleFrames
 */
export function toStore<T, I = T>(source$: Observable<T>, initial: I): ObservableStore<T | I> {
  let value: T | I = initial
  let state: 'idle' | 'running' | 'complete' | 'error' = 'idle'
  let failure: unknown
  let sub: Subscription | null = null
  const listeners = new Set<() => void>()
  const notify = () => listeners.forEach((l) => l())
  return {
    subscribe(onChange) {
      listeners.add(onChange)
      if (sub === null && state !== 'complete' && state !== 'error') {
        state = 'running'
        sub = source$.subscribe({
          next: (v) => {
            value = v
            notify()
          },
          error: (e: unknown) => {
            state = 'error'
            failure = e
            notify()
          },
          complete: () => {
            state = 'complete'
            notify()
          },
        })
      }
      return () => {
        listeners.delete(onChange)
        if (listeners.size === 0 && sub !== null) {
          sub.unsubscribe()
          sub = null
          if (state === 'running') state = 'idle'
        }
      }
    },
    getSnapshot: () => value,
    status: () => state,
    error: () => failure,
  }
}
