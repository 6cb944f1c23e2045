import { describe, expect, it } from 'vitest'
import { packState, unpackState } from '../../src/remote/remoteInternals.js'

describe('packState / unpackState (the worker transport)', () => {
  it('copies every tensor into a fresh buffer listed for transfer, leaving the run its own arrays', () => {
    const W = { shape: [2, 2], data: Float64Array.of(1, 2, 3, 4) }
    const m = Float64Array.of(0.5)
    const state = {
      step: 3,
      params: { W, b: 7 },
      opt: { mu: m },
      rng: { words: [1, 2], spare: null },
    }
    const { state: packed, transfer } = packState(state)
    const p = packed as typeof state
    expect(transfer).toHaveLength(2)
    expect(transfer).toContain(p.params.W.data.buffer)
    expect(transfer).toContain(p.opt.mu.buffer)
    expect(p.params.W.data).not.toBe(W.data)
    expect(Array.from(p.params.W.data)).toEqual([1, 2, 3, 4])
    // transferring the copies (as postMessage does) detaches them, never the run's arrays
    structuredClone(packed, { transfer })
    expect(p.params.W.data.length).toBe(0)
    expect(Array.from(W.data)).toEqual([1, 2, 3, 4])
    expect(Array.from(m)).toEqual([0.5])
    expect(p.rng).toEqual({ words: [1, 2], spare: null })
  })

  it('unpacks into a deeply frozen state', () => {
    const s = unpackState<{ params: { W: { shape: number[] } } }>({
      params: { W: { shape: [1], data: Float64Array.of(1) } },
    })
    expect(Object.isFrozen(s)).toBe(true)
    expect(Object.isFrozen(s.params.W.shape)).toBe(true)
  })
})
