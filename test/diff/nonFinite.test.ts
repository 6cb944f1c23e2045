import { describe, expect, it } from 'vitest'
import {
  derivative,
  directionalDerivative,
  jacobian,
  numericalDiff,
  numericalGradient,
  partialDerivative,
  tensor,
  type Tensor,
} from 'gradstream'

// Every differentiation function treats a non-finite value of f alike: a RangeError naming the
// function, the coordinate probed and the value — unless `nonFinite: 'propagate'` asks for the
// IEEE result. One test per value (NaN, Infinity, −Infinity) per function; f is finite except
// at the probe named, so the message must point there.

const BAD = [NaN, Infinity, -Infinity] as const
const propagate = { nonFinite: 'propagate' } as const

describe('numericalDiff', () => {
  for (const bad of BAD) {
    it(`f = ${bad} at x + h: named, or the IEEE quotient with propagate`, () => {
      const f = (x: number) => (x > 1 ? bad : x)
      expect(() => numericalDiff(f, 1)).toThrow(
        new RangeError(`numericalDiff: f returned ${bad} at x + h`),
      )
      expect(() => numericalDiff(f, 1, { method: 'forward' })).toThrow(
        new RangeError(`numericalDiff: f returned ${bad} at x + h`),
      )
      // IEEE: (bad − (1 − h)) / 2h is bad itself (NaN, +∞ or −∞)
      expect(numericalDiff(f, 1, propagate)).toBe(bad)
    })
  }
  it('f non-finite at x itself (one-sided): named as x', () => {
    for (const bad of BAD)
      expect(() => numericalDiff((x) => (x === 1 ? bad : x), 1, { method: 'backward' })).toThrow(
        new RangeError(`numericalDiff: f returned ${bad} at x`),
      )
  })
})

describe('numericalGradient', () => {
  const tree = {
    W: tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]),
    b: 0.5,
  }
  for (const bad of BAD) {
    it(`f = ${bad}: the tree path on the general path, the index on the flat ones`, () => {
      // W[1,2] is 6: its + h probe is the only one above 6
      const fTree = (q: typeof tree) => (q.W.data[5] > 6 ? bad : q.b)
      expect(() => numericalGradient(fTree, tree)).toThrow(
        new RangeError(`numericalGradient: f returned ${bad} at W[1,2] + h`),
      )
      const fT = (q: Tensor) => (q.data[3] < 4 ? bad : 0)
      expect(() => numericalGradient(fT, tree.W)).toThrow(
        new RangeError(`numericalGradient: f returned ${bad} at p[1,0] - h`),
      )
      const fA = (q: readonly number[]) => (q[1] > 2 ? bad : 0)
      expect(() => numericalGradient(fA, [1, 2])).toThrow(
        new RangeError(`numericalGradient: f returned ${bad} at p[1] + h`),
      )
      expect(() => numericalGradient(fA, [1, 2], { method: 'forward' })).toThrow(
        new RangeError(`numericalGradient: f returned ${bad} at p[1] + h`),
      )
    })
    it(`f = ${bad} with propagate: the IEEE quotients, on every path`, () => {
      const fA = (q: readonly number[]) => (q[1] > 2 ? bad : 0)
      // (bad − 0) / 2h = bad at p[1]; p[0]'s probes are both 0
      expect(numericalGradient(fA, [1, 2], propagate)).toEqual([0, bad])
      const g = numericalGradient((q: typeof tree) => (q.W.data[5] > 6 ? bad : 0), tree, propagate)
      expect([...g.W.data]).toEqual([0, 0, 0, 0, 0, bad])
      // both probes non-finite: ∞ − ∞ = NaN (NaN − NaN = NaN)
      expect(numericalGradient(() => bad, [1], propagate)).toEqual([NaN])
    })
  }
})

describe('partialDerivative', () => {
  for (const bad of BAD) {
    it(`f = ${bad}: the coordinate named`, () => {
      const f = (q: { a: number; W: Tensor }) => (q.W.data[1] < 2 ? bad : q.a)
      const p = { a: 1, W: tensor([[1, 2]]) }
      expect(() => partialDerivative(f, p, 'W[0,1]')).toThrow(
        new RangeError(`partialDerivative: f returned ${bad} at W[0,1] - h`),
      )
      expect(partialDerivative(f, p, 'W[0,1]', propagate)).toBe(-bad)
    })
  }
})

describe('directionalDerivative', () => {
  for (const bad of BAD) {
    it(`f = ${bad}: the probe along v named`, () => {
      const f = (q: readonly number[]) => (q[0] + q[1] > 3 ? bad : 0)
      expect(() => directionalDerivative(f, [1, 2], [1, 1])).toThrow(
        new RangeError(`directionalDerivative: f returned ${bad} at p + h·v`),
      )
      expect(() => directionalDerivative(f, [1, 2], [1, 1], { method: 'forward' })).toThrow(
        new RangeError(`directionalDerivative: f returned ${bad} at p + h·v`),
      )
      expect(directionalDerivative(f, [1, 2], [1, 1], propagate)).toBe(bad)
    })
  }
})

describe('jacobian', () => {
  for (const bad of BAD) {
    it(`f = ${bad} in one output: the output and the probe named`, () => {
      const f = (q: readonly number[]) => [q[0], q[1] > 2 ? bad : 1]
      expect(() => jacobian(f, [1, 2])).toThrow(
        new RangeError(`jacobian: f returned ${bad} in output 1 at p[1] + h`),
      )
      // a tree-valued f: the output's path
      const g = (q: readonly number[]) => ({ y: tensor([[q[0], q[1] < 2 ? bad : 0]]) })
      expect(() => jacobian(g, [1, 2])).toThrow(
        new RangeError(`jacobian: f returned ${bad} in output y[0,1] at p[1] - h`),
      )
      const J = jacobian(f, [1, 2], propagate)
      // row 1 (output 1), column 1 (p[1]): (bad − 1) / 2h = bad
      expect([...J.data]).toEqual([expect.closeTo(1, 6), 0, 0, bad])
    })
  }
})

describe('derivative', () => {
  for (const bad of BAD) {
    it(`f = ${bad} at every step: named, or the IEEE quotient with propagate`, () => {
      // f finite only at x − h: every step sees `bad` at x + h
      const f = (x: number) => (x > 0 ? bad : x)
      expect(() => derivative(f, 0)).toThrow(
        new RangeError(
          `derivative: f returned ${bad} at x + h for every h down to 1.1945774316841202e-300 (x = 0)`,
        ),
      )
      const r = derivative(f, 0, propagate)
      expect(r.value).toBe(bad)
      expect(r.error).toBe(Infinity)
    })
  }
  it('a non-finite value at a large first step is a domain edge, not an error', () => {
    // ln at 0.05 − 0.1 is NaN: the step shrinks into the domain (as documented)
    const r = derivative(Math.log, 0.05)
    expect(Math.abs(r.value - 20)).toBeLessThan(r.error + 1e-9)
  })
  it('rejects an unknown nonFinite', () => {
    expect(() => derivative(Math.sin, 0, { nonFinite: 'ignore' as never })).toThrow(
      new RangeError('derivative: nonFinite: expected "throw" or "propagate", got "ignore"'),
    )
    expect(() => numericalDiff(Math.sin, 0, { nonFinite: 'ignore' as never })).toThrow(
      new RangeError('numericalDiff: nonFinite: expected "throw" or "propagate", got "ignore"'),
    )
  })
})
