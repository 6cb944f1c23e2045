import fc from 'fast-check'
import { rng } from '../../src/random/rng.js'
import type { TrainState } from '../../src/state/types.js'
import { fromData } from '../../src/tensor/tensor.js'
import type { Params } from '../../src/tree/tree.js'

/** Any double: −0, NaN, ±Infinity and subnormals included. */
export const anyDouble = fc.double()

/** A small tensor of any doubles. */
export const tensorArb = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }).chain((shape) =>
  fc
    .array(anyDouble, {
      minLength: shape.reduce((a, b) => a * b, 1),
      maxLength: shape.reduce((a, b) => a * b, 1),
    })
    .map((xs) => fromData(shape, Float64Array.from(xs))),
)

const key = fc
  .oneof(fc.string({ maxLength: 4 }), fc.constantFrom('$', '$f64', 'shape', 'data'))
  .filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k))

/** A small parameter tree. */
export const paramsArb: fc.Arbitrary<Params> = fc.letrec<{ p: Params }>((tie) => ({
  p: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    anyDouble,
    tensorArb,
    fc.array(tie('p'), { maxLength: 3 }),
    fc.dictionary(key, tie('p'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).p

/** A random, structurally valid TrainState (grad mirrors params). */
export const trainStateArb: fc.Arbitrary<TrainState> = fc
  .record({
    step: fc.nat(),
    params: paramsArb,
    withGrad: fc.boolean(),
    loss: anyDouble,
    lr: anyDouble,
    count: fc.nat(),
    hyper: fc.dictionary(key, anyDouble, { maxKeys: 2, noNullPrototype: true }),
    evaluations: fc.nat(),
    seed: fc.integer({ min: -2147483648, max: 2147483647 }),
    draws: fc.nat({ max: 5 }),
    history: fc.array(anyDouble, { maxLength: 5 }),
    metrics: fc.dictionary(key, anyDouble, { maxKeys: 2, noNullPrototype: true }),
    stop: fc.option(
      fc.record(
        { rule: fc.string({ maxLength: 8 }), threshold: anyDouble },
        { noNullPrototype: true },
      ),
    ),
  })
  .map((r) => {
    const g = rng(r.seed)
    for (let i = 0; i < r.draws; i++) g.normal()
    const s: TrainState = {
      step: r.step,
      params: r.params,
      loss: r.loss,
      grad: r.withGrad ? r.params : null,
      lr: r.lr,
      opt: { scaleByAdam: { mu: r.params, nu: r.params, count: r.count } },
      hyper: r.hyper,
      evaluations: r.evaluations,
      rng: g.state(),
      history: r.history,
      metrics: r.metrics,
      ...(r.stop ? { stopReason: r.stop } : {}),
    }
    return s
  })
