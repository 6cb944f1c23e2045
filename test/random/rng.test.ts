import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { choice, permutation, randn, rng, rngFromState, uniform } from 'gradstream'

describe('seeded randomness', () => {
  it('the same seed gives the same sequence; another seed another', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (seed) => {
        const a = rng(seed)
        const b = rng(seed)
        const xs = [a.uniform(), a.normal(), a.int(10), a.normal()]
        expect([b.uniform(), b.normal(), b.int(10), b.normal()]).toEqual(xs)
        expect(rng(seed ^ 1).uniform()).not.toBe(xs[0])
      }),
    )
  })

  it('state() and rngFromState continue the exact sequence, across JSON', () => {
    const a = rng(5)
    a.uniform()
    a.normal() // leaves a spare normal deviate pending
    const b = rngFromState(JSON.parse(JSON.stringify(a.state())))
    expect([b.normal(), b.uniform(), b.int(7)]).toEqual([a.normal(), a.uniform(), a.int(7)])
  })

  it('uniform is in [0, 1), int in [0, n), with sane moments', () => {
    const r = rng(1)
    const n = 20000
    let s = 0
    let s2 = 0
    const counts = new Array(5).fill(0)
    for (let i = 0; i < n; i++) {
      const u = r.uniform()
      expect(u >= 0 && u < 1).toBe(true)
      counts[r.int(5)]++
      const z = r.normal()
      s += z
      s2 += z * z
    }
    // mean of n N(0,1) has sd 1/√n ≈ 0.007: 5 sd; variance's sd √(2/n) ≈ 0.01: 5 sd
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n))
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n))
    // each count is Binomial(n, 1/5): sd √(n·0.16) ≈ 57; allow 5 sd
    for (const c of counts) expect(Math.abs(c - n / 5)).toBeLessThan(5 * Math.sqrt(n * 0.16))
  })

  it('randn, uniform, choice and permutation draw from the generator', () => {
    const t = randn([2, 3], rng(2), 0.5)
    const r = rng(2)
    expect([...t.data]).toEqual(Array.from({ length: 6 }, () => 0.5 * r.normal()))
    const u = uniform([4], rng(3), -1, 1)
    expect(u.data.every((v) => v >= -1 && v < 1)).toBe(true)
    const c = choice(10, 50, rng(4))
    expect(c.every((i) => i >= 0 && i < 10)).toBe(true)
    const p = permutation(20, rng(5))
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })

  it('rejects bad arguments', () => {
    expect(() => rng(0.5)).toThrow(
      new RangeError('rng: seed: expected an integer in [-2147483648, 4294967295], got 0.5'),
    )
    expect(() => rng(1).int(2.5)).toThrow(
      new RangeError('rng.int: n: expected an integer in [1, 2^32], got 2.5'),
    )
    expect(() => randn([2, -3], rng(1))).toThrow(
      new RangeError('randn: shape[1]: expected a non-negative integer, got -3 in [2,-3]'),
    )
    expect(() => choice(0, 1, rng(1))).toThrow(
      new RangeError('choice: n: expected a positive integer, got 0'),
    )
    expect(() => rngFromState({ words: [1, 2], spare: null })).toThrow(
      new TypeError('rngFromState: state.words: expected 4 32-bit integers, got [1,2]'),
    )
  })
})
