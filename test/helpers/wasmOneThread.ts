import { afterAll, beforeAll } from 'vitest'
import { setKernelBackend, setKernelThreads } from 'gradstream'

/**
 * Runs the enclosing `describe`'s tests on the wasm backend and one kernel thread (the paths
 * that leave numbers in wasm memory), and puts both back to 'auto' after them.
 */
export function onWasmOneThread(): void {
  beforeAll(() => {
    setKernelBackend('wasm')
    setKernelThreads(1)
  })
  afterAll(() => {
    setKernelBackend('auto')
    setKernelThreads('auto')
  })
}
