import fc from 'fast-check'
import { describe, it } from 'vitest'
import { ad } from '../../src/autodiff/ad.js'
import type { Var } from '../../src/autodiff/tape.js'
import { valueAndGrad, type Traced } from '../../src/autodiff/valueAndGrad.js'
import type { Tensor } from '../../src/tensor/tensor.js'
import { flatten, pathAt, unflatten } from '../../src/tree/tree.js'
import { expectGradientsAgree, richardsonGradient } from './numeric.js'

type Layer = { W: Tensor; b: Tensor }
type Net = Layer[]
type Case = {
  sizes: number[]
  batch: number
  act: 'sigmoid' | 'tanh' | 'relu'
  lossKind: 'labels' | 'oneHot' | 'mse'
  params: Net
  x: Tensor
  t: Tensor
}

const value = fc.double({ min: -2, max: 2, noNaN: true })
const values = (n: number) =>
  fc.array(value, { minLength: n, maxLength: n }).map((a) => Float64Array.from(a))

/** Random small networks (2–4 layers of 1–4 units), inputs, targets, activation and loss. */
const cases: fc.Arbitrary<Case> = fc
  .record({
    sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }),
    batch: fc.integer({ min: 1, max: 3 }),
    act: fc.constantFrom('sigmoid' as const, 'tanh' as const, 'relu' as const),
    lossKind: fc.constantFrom('labels' as const, 'oneHot' as const, 'mse' as const),
  })
  .chain(({ sizes, batch, act, lossKind }) => {
    const layers = sizes.slice(1).map((n, l) =>
      fc.record({
        W: values(sizes[l] * n).map((data) => ({ shape: [sizes[l], n], data }) as Tensor),
        b: values(n).map((data) => ({ shape: [n], data }) as Tensor),
      }),
    )
    const k = sizes[sizes.length - 1]
    const target =
      lossKind === 'mse'
        ? values(batch * k).map((data) => ({ shape: [batch, k], data }) as Tensor)
        : fc
            .array(fc.integer({ min: 0, max: k - 1 }), { minLength: batch, maxLength: batch })
            .map((labels): Tensor =>
              lossKind === 'labels'
                ? { shape: [batch], data: Float64Array.from(labels) }
                : {
                    shape: [batch, k],
                    data: Float64Array.from({ length: batch * k }, (_, i) =>
                      labels[Math.floor(i / k)] === i % k ? 1 : 0,
                    ),
                  },
            )
    return fc.record({
      sizes: fc.constant(sizes),
      batch: fc.constant(batch),
      act: fc.constant(act),
      lossKind: fc.constant(lossKind),
      params: fc.tuple(...layers),
      x: values(batch * sizes[0]).map((data) => ({ shape: [batch, sizes[0]], data }) as Tensor),
      t: target,
    })
  })

/** The network's pre-activations and loss, built from the ad ops. */
function forward(c: Case, p: Traced<Net>, x: Tensor): { loss: Var; pre: Var[] } {
  let h: Var | Tensor = x
  const pre: Var[] = []
  p.forEach((layer, l) => {
    const z = ad.add(ad.matmul(h, layer.W), layer.b)
    pre.push(z)
    h = l < p.length - 1 ? ad[c.act](z) : z
  })
  const loss = c.lossKind === 'mse' ? ad.meanSquaredError(h, c.t) : ad.softmaxCrossEntropy(h, c.t)
  return { loss, pre }
}

describe('gradient check (the book’s ch. 5 gradient_check, as a property)', () => {
  it('backprop equals the numerical gradient to relative error < 1e-6 in every parameter', () => {
    fc.assert(
      fc.property(cases, (c) => {
        if (c.act === 'relu') {
          // stay away from relu's kink: no hidden pre-activation within 0.05 of 0, so none
          // crosses it when one parameter moves by h = 1e-3 (|Δz| ≤ h·(1 + max |layer input|),
          // a few hundredths at most for these sizes and ranges)
          const { pre } = forward(c, c.params as unknown as Traced<Net>, c.x)
          for (const z of pre.slice(0, -1)) fc.pre(z.value.data.every((v) => Math.abs(v) > 0.05))
        }
        const f = (p: Traced<Net>, x: Tensor) => forward(c, p, x).loss
        const { value: loss, grad } = valueAndGrad(f)(c.params, c.x)
        const flat = flatten(c.params)
        const numerical = richardsonGradient(
          (q) => valueAndGrad(f)(unflatten(c.params, q), c.x).value,
          flat,
        )
        expectGradientsAgree(flatten(grad), numerical, loss, (i) => pathAt(c.params, i))
      }),
    )
  })
})
