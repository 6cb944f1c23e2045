// A page that is not cross-origin isolated has no SharedArrayBuffer global: naming it throws a
// ReferenceError. The one-thread paths must never name it (the playground's MNIST worker found
// one that did: placePadded's check of its destination).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { placePadded } from '../../src/tensor/kernels/wasmKernels.js'
import { mlp } from '../../src/index.js'
import { fromData } from '../../src/tensor/tensor.js'

const saved = globalThis.SharedArrayBuffer
const hide = () => {
  // @ts-expect-error: the global is what a page that is not cross-origin isolated lacks
  delete globalThis.SharedArrayBuffer
}
const restore = () => {
  globalThis.SharedArrayBuffer = saved
}

describe('without a SharedArrayBuffer global (a page that is not cross-origin isolated)', () => {
  beforeEach(hide)
  afterEach(restore)

  it('placePadded places rows apart and zeroes the padding', () => {
    expect(typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer).toBe(
      'undefined',
    )
    const B = Float64Array.from({ length: 6 }, (_, i) => i + 1) // 2×3
    const dst = new Float64Array(12).fill(9)
    placePadded(dst, B, 2, 3, 5, false, 8) // from element 1, rows 5 apart
    expect(Array.from(dst)).toEqual([9, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 9])
  })

  it("an mlp's gradient on a mostly-zero batch gives the bits it gives with the global", () => {
    let seed = 3
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const x = fromData(
      [64, 784],
      Float64Array.from({ length: 64 * 784 }, () => (next() < 0.8 ? 0 : next())),
    )
    const t = fromData(
      [64, 10],
      Float64Array.from({ length: 64 * 10 }, (_, i) =>
        i % 10 === Math.floor(i / 10) % 10 ? 1 : 0,
      ),
    )
    const net = mlp({ sizes: [784, 64, 10], seed: 1 })
    const calls = () => {
      const out: number[] = []
      for (let k = 0; k < 3; k++) {
        const { loss, grad } = net.lossAndGradient(net.params, x, t)
        out.push(loss, ...grad.W1.data.subarray(0, 50), ...grad.b2.data)
      }
      return out
    }
    const without = calls()
    restore()
    const withGlobal = calls()
    hide()
    expect(new Float64Array(without)).toEqual(new Float64Array(withGlobal))
  })
})
