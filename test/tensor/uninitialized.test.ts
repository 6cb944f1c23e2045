import { afterEach, describe, expect, it, vi } from 'vitest'

// The malloc priming block (src/tensor/uninitialized.ts): taken once, when the module loads, so
// that the collections before a training run free it and the run's first fresh arrays already
// come from the heap. What glibc then does is measured by bench/firstSteps.ts, not here.
const PRIMING_BYTES = (1 << 25) - (1 << 16)

describe('uninitializedF64', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.resetModules()
  })

  it('takes the priming block when its module loads, and never again', async () => {
    vi.resetModules()
    const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow')
    const { uninitializedF64 } = await import('../../src/tensor/uninitialized.js')
    const primings = () => alloc.mock.calls.filter(([n]) => n === PRIMING_BYTES).length
    expect(primings()).toBe(1)
    const a = uninitializedF64(10_000)
    const b = uninitializedF64(10_000)
    expect(primings()).toBe(1)
    // above 64 KB: a block of its own each, at offset 0
    expect(alloc.mock.calls.filter(([n]) => n === 80_000)).toHaveLength(2)
    expect(a.buffer).not.toBe(b.buffer)
    expect([a.byteOffset, a.length, a.buffer.byteLength]).toEqual([0, 10_000, 80_000])
  })

  it('gives a plain zeroed array below 64 KB', async () => {
    const { uninitializedF64 } = await import('../../src/tensor/uninitialized.js')
    const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow')
    const a = uninitializedF64(8191)
    expect(alloc).not.toHaveBeenCalled()
    expect(a.every((v) => v === 0)).toBe(true)
  })
})
