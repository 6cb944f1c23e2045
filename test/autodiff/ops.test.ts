import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ad } from '../../src/autodiff/ad.js'
import { Var } from '../../src/autodiff/tape.js'
import { valueAndGrad } from '../../src/autodiff/valueAndGrad.js'
import { type Tensor, tensor } from '../../src/tensor/tensor.js'
import { thrown } from '../helpers/thrown.js'
import { flatten, pathAt, unflatten } from '../../src/tree/tree.js'
import { expectAllClose, expectClose } from '../helpers/expectClose.js'
import { expectGradientsAgree, richardsonGradient } from './numeric.js'

const T = (shape: number[], data: number[]): Tensor => ({ shape, data: Float64Array.from(data) })

describe('valueAndGrad', () => {
  it('differentiates the doc example a·Σx² (value 15, ∂/∂a = Σx² = 5)', () => {
    const f = (p: { a: Var }, x: Tensor) => ad.sum(ad.mul(ad.mul(p.a, x), x))
    const { value, grad } = valueAndGrad(f)({ a: 3 }, T([2], [1, 2]))
    expect(value).toBe(15)
    expect(grad).toEqual({ a: 5 })
  })

  it('gives the bias of an affine layer the column sums of the upstream gradient', () => {
    // L = Σ (x·W + b) ⇒ ∂L/∂b = m ones, ∂L/∂W = xᵀ·1 = column sums of x repeated
    const x = T([3, 2], [1, 2, 3, 4, 5, 6])
    const p = { W: T([2, 2], [0, 0, 0, 0]), b: T([2], [0, 0]) }
    const { grad } = valueAndGrad((q: { W: Var; b: Var }, xb: Tensor) =>
      ad.sum(ad.add(ad.matmul(xb, q.W), q.b)),
    )(p, x)
    expect(Array.from(grad.b.data)).toEqual([3, 3])
    expect(Array.from(grad.W.data)).toEqual([9, 9, 12, 12])
  })

  it('returns zeros for parameters the loss ignores, and leaves params and batch unchanged', () => {
    const p = { used: T([2], [1, 2]), unused: T([2], [3, 4]), n: 7 }
    const x = T([2], [5, 6])
    const { grad } = valueAndGrad((q: { used: Var }, xb: Tensor) => ad.sum(ad.mul(q.used, xb)))(
      p,
      x,
    )
    expect(Array.from(grad.unused.data)).toEqual([0, 0])
    expect(grad.n).toBe(0)
    expect(Array.from(grad.used.data)).toEqual([5, 6])
    expect(Array.from(p.used.data)).toEqual([1, 2])
    expect(Array.from(x.data)).toEqual([5, 6])
  })

  it('sums the contributions of a value used twice (x·x)', () => {
    const { grad } = valueAndGrad((p: { x: Var }) => ad.sum(ad.mul(p.x, p.x)))(
      { x: T([2], [3, -1]) },
      null,
    )
    expect(Array.from(grad.x.data)).toEqual([6, -2])
  })

  it('handles a deep chain without overflowing the stack', () => {
    const { value, grad } = valueAndGrad((p: { x: Var }) => {
      let y: Var = p.x
      for (let i = 0; i < 20000; i++) y = ad.add(y, 1)
      return ad.sum(y)
    })({ x: T([1], [0]) }, null)
    expect(value).toBe(20000)
    expect(Array.from(grad.x.data)).toEqual([1])
  })

  it('rejects what it cannot differentiate', () => {
    expect(() => valueAndGrad(3 as never)).toThrow(
      new TypeError('valueAndGrad: f: expected a function, got 3'),
    )
    expect(() => valueAndGrad(() => 1 as never)({ a: 1 }, null)).toThrow(
      'valueAndGrad: result: expected a scalar Var (a loss built with the ad ops), got 1',
    )
    expect(() => valueAndGrad((p: { a: Var }) => p.a)({ a: T([2], [1, 2]) }, null)).toThrow(
      'valueAndGrad: result: expected a scalar Var (a loss built with the ad ops), got a Var of shape [2]',
    )
  })
})

describe('ad.softmaxCrossEntropy', () => {
  // The book (ch. 3) prints softmax([0.3, 2.9, 4.0]) = [0.01821127, 0.24519181, 0.73659691].
  const y = [0.01821127, 0.24519181, 0.73659691]

  it('matches the book’s softmax: loss −ln y₂, gradient y − t', () => {
    for (const target of [2, T([3], [0, 0, 1])]) {
      const { value, grad } = valueAndGrad((p: { a: Var }) => ad.softmaxCrossEntropy(p.a, target))(
        { a: T([3], [0.3, 2.9, 4.0]) },
        null,
      )
      // the book's numbers have 8 significant digits: 1e-8 absolute
      expectClose(value, -Math.log(y[2]), { atol: 1e-7 }, 'loss')
      expectAllClose(grad.a.data, [y[0], y[1], y[2] - 1], { atol: 1e-8 }, 'grad')
    }
  })

  it('averages over the batch: (y − t) / batch_size, labels and one-hot alike', () => {
    const a = T([2, 3], [0.3, 2.9, 4.0, 0.3, 2.9, 4.0])
    const byLabel = valueAndGrad((p: { a: Var }) => ad.softmaxCrossEntropy(p.a, T([2], [2, 0])))(
      { a },
      null,
    )
    const byRows = valueAndGrad((p: { a: Var }) =>
      ad.softmaxCrossEntropy(p.a, T([2, 3], [0, 0, 1, 1, 0, 0])),
    )({ a }, null)
    expectClose(byLabel.value, (-Math.log(y[2]) - Math.log(y[0])) / 2, { atol: 1e-7 }, 'loss')
    expectAllClose(
      byLabel.grad.a.data,
      [y[0] / 2, y[1] / 2, (y[2] - 1) / 2, (y[0] - 1) / 2, y[1] / 2, y[2] / 2],
      { atol: 1e-8 },
    )
    expect(byRows.value).toBeCloseTo(byLabel.value, 14)
    expectAllClose(byRows.grad.a.data, byLabel.grad.a.data, { atol: 1e-16 })
  })

  it('is stable for huge logits (no NaN, no Infinity)', () => {
    const f = (p: { a: Var }) => ad.softmaxCrossEntropy(p.a, T([2], [0, 0]))
    const { value, grad } = valueAndGrad(f)({ a: T([2, 2], [1000, 0, 0, 1000]) }, null)
    // row 1: ln(1 + e⁻¹⁰⁰⁰) = 0; row 2: 1000 + ln(1 + e⁻¹⁰⁰⁰) − 0 = 1000; mean 500
    expect(value).toBe(500)
    expect(Array.from(grad.a.data)).toEqual([0, 0, -0.5, 0.5])
  })

  it('gives the gradient (y·Σt − t)·(g/m), y = e/Σe, e = exp(a − max) summed in order, bit for bit', () => {
    // the order of operations the op documents, written out here: one row at a time, the
    // exponentials' plain running sum, then y, y·Σt, − t, · (g/m); k on both sides of 8 (where
    // the loss's pairwise sums change their order), labels and rows, g = 1 and a scaled loss
    const reference = (
      a: number[],
      m: number,
      k: number,
      t: number[],
      labels: boolean,
      g: number,
    ) => {
      const out: number[] = []
      const s = g / m
      for (let i = 0; i < m; i++) {
        const row = a.slice(i * k, i * k + k)
        const mx = Math.max(...row)
        const e = row.map((v) => Math.exp(v - mx))
        let z = 0
        for (const v of e) z += v
        let ts = 0
        for (let j = 0; j < k; j++) ts += labels ? (t[i] === j ? 1 : 0) : t[i * k + j]
        for (let j = 0; j < k; j++) {
          const tj = labels ? (t[i] === j ? 1 : 0) : t[i * k + j]
          out.push(((e[j] / z) * ts - tj) * s)
        }
      }
      return out
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 2, max: 13 }),
        fc.boolean(),
        fc.constantFrom(1, 3, 0.1),
        fc.array(
          fc.oneof(
            { weight: 8, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }) },
            fc.constantFrom(NaN, -0, 0, -Infinity, Infinity),
          ),
          { minLength: 65, maxLength: 65 },
        ),
        fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 65, maxLength: 65 }),
        (m, k, labels, g, as, ts) => {
          const a = as.slice(0, m * k)
          const t = labels ? ts.slice(0, m).map((v) => Math.floor(v * k) % k) : ts.slice(0, m * k)
          const target = labels ? T([m], t) : T([m, k], t)
          const { grad } = valueAndGrad((p: { a: Var }) =>
            ad.mul(ad.softmaxCrossEntropy(p.a, target), g),
          )({ a: T([m, k], a) }, null)
          expect(Array.from(grad.a.data)).toEqual(reference(a, m, k, t, labels, g))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('rejects mismatched shapes and labels out of range', () => {
    expect(() => ad.softmaxCrossEntropy(T([2, 3], [0, 0, 0, 0, 0, 0]), T([3], [0, 1, 2]))).toThrow(
      'ad.softmaxCrossEntropy: shapes [2,3] and [3] do not match (targets: labels of shape [2] or rows of shape [2,3])',
    )
    expect(() => ad.softmaxCrossEntropy(T([1, 3], [0, 0, 0]), T([1], [3]))).toThrow(
      new RangeError('ad.softmaxCrossEntropy: target[0]: expected an integer in [0, 2], got 3'),
    )
  })
})

describe('each op against numerical differentiation', () => {
  const dims = fc.integer({ min: 1, max: 3 })
  const arr = (n: number, min = -2, max = 2) =>
    fc
      .array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n })
      .map((a) => Float64Array.from(a))
  const tensorOf = (shape: number[], min?: number, max?: number) =>
    arr(
      shape.reduce((p, d) => p * d, 1),
      min,
      max,
    ).map((data) => ({ shape, data }) as Tensor)

  /** f(p) = Σ w ⊙ op(p…) with a random weighting w, so every output element matters. */
  const check = (shapes: number[][], op: (...v: Var[]) => Var, range: [number, number] = [-2, 2]) =>
    fc.assert(
      fc.property(
        fc.tuple(...shapes.map((s) => tensorOf(s, ...range))),
        fc.integer({ min: 1, max: 9 }),
        (inputs, k) => {
          const loss = (p: Var[]) => {
            const y = op(...p)
            const w = {
              shape: [...y.shape],
              data: Float64Array.from({ length: y.value.data.length }, (_, i) => ((i * k) % 7) - 3),
            }
            return ad.sum(ad.mul(y, w))
          }
          const { value, grad } = valueAndGrad(loss)(inputs, null)
          const numerical = richardsonGradient(
            (q) => valueAndGrad(loss)(unflatten(inputs, q), null).value,
            flatten(inputs),
          )
          expectGradientsAgree(flatten(grad), numerical, value, (i) => pathAt(inputs, i))
        },
      ),
      { numRuns: 50 },
    )

  it('add, sub, mul, div with a broadcast row', () => {
    fc.assert(
      fc.property(dims, dims, (m, n) => {
        check([[m, n], [n]], ad.add)
        check([[m, n], [n]], ad.sub)
        check([[n], [m, n]], ad.mul)
        check([[m, n], [n]], ad.div, [0.5, 2])
        return true
      }),
      { numRuns: 3 },
    )
  })

  it('exp, log, sigmoid, tanh, neg, transpose, reshape', () => {
    check([[2, 3]], ad.exp)
    check([[3]], ad.log, [0.5, 3])
    check([[2, 2]], ad.sigmoid)
    check([[3, 1]], ad.tanh)
    check([[2]], ad.neg)
    check([[2, 3]], ad.transpose)
    check([[2, 3]], (v) => ad.reshape(v, [3, -1]))
  })

  it('matmul in all four of np.dot’s vector/matrix cases', () => {
    check(
      [
        [2, 3],
        [3, 4],
      ],
      ad.matmul,
    )
    check([[3], [3, 2]], ad.matmul)
    check([[2, 3], [3]], ad.matmul)
    check([[3], [3]], ad.matmul)
  })

  it('sum and mean, whole and along an axis', () => {
    check([[2, 3]], (v) => ad.sum(v))
    check([[2, 3]], (v) => ad.sum(v, 0))
    check([[2, 3, 2]], (v) => ad.mean(v, 1))
    check([[2, 3]], (v) => ad.mean(v, -1))
    check([[4]], (v) => ad.mean(v))
  })

  it('the losses, with soft targets and a trainable target', () => {
    check(
      [
        [2, 3],
        [2, 3],
      ],
      (a, t) => ad.meanSquaredError(a, t),
    )
    fc.assert(
      fc.property(tensorOf([2, 3], 0, 1), (t) => {
        check([[2, 3]], (a) => ad.softmaxCrossEntropy(a, t))
        return true
      }),
      { numRuns: 3 },
    )
  })

  it('the book’s mean squared error: ½ Σ (y − t)² (0.0975 for the book’s example)', () => {
    // book ch. 4: t = one-hot 2, y = [0.1, 0.05, 0.6, 0, 0.05, 0.1, 0, 0.1, 0, 0] → 0.0975
    const t = T([10], [0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    const y = T([10], [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    expectClose(ad.meanSquaredError(y, t).value.data[0], 0.0975, { atol: 1e-15 })
  })
})

describe('Var checks its parts', () => {
  const x = tensor([1, 2])
  it('names the part, its value and what was expected', () => {
    expect(thrown(() => new Var([1, 2] as never))).toBe(
      'TypeError: Var: value: expected a Tensor, got [1,2]',
    )
    expect(thrown(() => new Var(x, 'p' as never))).toBe(
      'TypeError: Var: parents: expected an array of Var, got "p"',
    )
    expect(thrown(() => new Var(x, [new Var(x)], []))).toMatch(
      /^TypeError: Var: vjps: expected 1 functions \(one per parent\), got /,
    )
    expect(thrown(() => new Var(x, [], [], 1 as never))).toBe(
      'TypeError: Var: requiresGrad: expected a boolean, got 1',
    )
  })
  it('takes what the ops give it: requiresGrad from its parents unless told', () => {
    const leaf = new Var(x, [], [], true)
    const node = new Var(x, [leaf], [(g) => g])
    expect(node.requiresGrad).toBe(true)
    expect(new Var(x, [new Var(x)], [(g) => g]).requiresGrad).toBe(false)
  })
})
