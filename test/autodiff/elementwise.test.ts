import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Tensor } from 'gradstream'
import { ad } from '../../src/autodiff/ad.js'
import { backward, param, type Var } from '../../src/autodiff/tape.js'

// The elementwise ops loop over Float64Arrays in their own functions (src/autodiff/ops.ts), one
// per formula. These properties pin their values and vector–Jacobian products bit for bit
// (Object.is, so −0 and NaN count) against each formula written out here element by element,
// broadcasting of a row (or a scalar) across a matrix included.

/** Doubles of all kinds: zeros of both signs, NaN, infinities, tiny and huge values. */
const anyDouble = fc.oneof(
  fc.double({ min: -5, max: 5 }),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1e-310, -1e300),
)

const tensorOf = (shape: number[], xs: number[]): Tensor => ({ shape, data: Float64Array.from(xs) })

/** An [m, n] matrix, and a second operand of shape [m, n], [n] or [] (broadcast). */
const operands = fc
  .record({ m: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }) })
  .chain(({ m, n }) =>
    fc.constantFrom([m, n], [n], [] as number[]).chain((bShape) =>
      fc.record({
        a: fc
          .array(anyDouble, { minLength: m * n, maxLength: m * n })
          .map((xs) => tensorOf([m, n], xs)),
        b: fc
          .array(anyDouble, {
            minLength: bShape.reduce((p, d) => p * d, 1),
            maxLength: bShape.reduce((p, d) => p * d, 1),
          })
          .map((xs) => tensorOf(bShape, xs)),
        g: fc
          .array(anyDouble, { minLength: m * n, maxLength: m * n })
          .map((xs) => tensorOf([m, n], xs)),
      }),
    ),
  )

/** The gradients of `out` with seed `g` for the given leaves. */
const grads = (out: Var, g: Tensor, leaves: Var[]) => {
  const map = backward(out, g)
  return leaves.map((v) => map.get(v)!)
}

const expectBits = (actual: ArrayLike<number>, expected: ArrayLike<number>) =>
  expect(Array.from(actual)).toEqual(Array.from(expected))

describe('elementwise ops, bit for bit against their formulas', () => {
  it('add, sub, mul, div: values (a row or a scalar broadcast) and ∂/∂a', () => {
    fc.assert(
      fc.property(operands, fc.constantFrom('add', 'sub', 'mul', 'div'), ({ a, b, g }, op) => {
        const x = param(a)
        const y = param(b)
        const out = ad[op as 'add'](x, y)
        const k = b.data.length
        const f = {
          add: (u: number, v: number) => u + v,
          sub: (u: number, v: number) => u - v,
          mul: (u: number, v: number) => u * v,
          div: (u: number, v: number) => u / v,
        }[op]!
        expect(out.shape).toEqual(a.shape)
        expectBits(
          out.value.data,
          Array.from(a.data, (u, i) => f(u, b.data[i % k])),
        )
        const [ga] = grads(out, g, [x, y])
        const da = {
          add: (gi: number) => gi,
          sub: (gi: number) => gi,
          mul: (gi: number, i: number) => gi * b.data[i % k],
          div: (gi: number, i: number) => gi / b.data[i % k],
        }[op]!
        expectBits(
          ga.data,
          Array.from(g.data, (gi, i) => da(gi, i)),
        )
      }),
    )
  })

  it('relu, sigmoid, tanh, exp, log, neg: values and vjps', () => {
    fc.assert(
      fc.property(
        operands,
        fc.constantFrom('relu', 'sigmoid', 'tanh', 'exp', 'log', 'neg'),
        ({ a, g }, op) => {
          const x = param(a)
          const out = ad[op as 'relu'](x)
          const fwd: Record<string, (v: number) => number> = {
            relu: (v) => (v > 0 ? v : 0),
            sigmoid: (v) => 1 / (1 + Math.exp(-v)),
            tanh: Math.tanh,
            exp: Math.exp,
            log: Math.log,
            neg: (v) => -v,
          }
          const y = Array.from(a.data, fwd[op])
          expectBits(out.value.data, y)
          const back: Record<string, (gi: number, i: number) => number> = {
            relu: (gi, i) => (a.data[i] > 0 ? gi : 0),
            sigmoid: (gi, i) => gi * (1 - y[i]) * y[i],
            tanh: (gi, i) => gi * (1 - y[i] * y[i]),
            exp: (gi, i) => gi * y[i],
            log: (gi, i) => gi / a.data[i],
            neg: (gi) => -gi,
          }
          const [ga] = grads(out, g, [x])
          expectBits(
            ga.data,
            Array.from(g.data, (gi, i) => back[op](gi, i)),
          )
        },
      ),
    )
  })
})
