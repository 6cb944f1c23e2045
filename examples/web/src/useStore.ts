import { useSyncExternalStore } from 'react'
import type { ObservableStore } from 'gradstream'

/**
 * The React integration: a component re-renders with the latest value of a gradstream store
 * (`toStore(run$.pipe(sampleFrames()), initial)`), and the run is subscribed while any
 * component shows it.
 *
 * @example
 * ```tsx
 * const store = toStore(train(config).pipe(sampleFrames()), null)
 * function Step() {
 *   const s = useStore(store)
 *   return <span>{s?.step}</span>
 * }
 * ```
 */
export function useStore<T>(store: ObservableStore<T>): T {
  return useSyncExternalStore(store.subscribe, store.getSnapshot)
}
