// What the tests of the kernels' thresholds and of the two-thread paths share: each file turns
// tuning objects (tapeTuning, splitTuning, packing…) down to reach a path, and starts workers.
import { afterAll, afterEach } from 'vitest'
import { setKernelThreads } from 'gradstream'
import { closeWorkers } from 'gradstream/node'

/** After every test of the file, each object's fields back to what they are now. */
export function restoreAfterEach(...tunings: object[]): void {
  const saved = tunings.map((t) => ({ ...t }))
  afterEach(() => tunings.forEach((t, i) => Object.assign(t, saved[i])))
}

/** At the file's end: threads back to the default ('auto') and every worker closed. */
export function closeThreadsAfterAll(): void {
  afterAll(async () => {
    setKernelThreads('auto')
    await closeWorkers()
  })
}
