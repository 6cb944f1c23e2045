import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeWireLine,
  encodeWireLine,
  toWireFrame,
  type WireFrame,
} from '../../src/state/wireFormat.js'
import type { TrainState } from '../../src/state/types.js'

const base: WireFrame = {
  v: 1,
  step: 3,
  loss: 0.5,
  lr: 0.1,
  gradNorm: 2,
  evaluations: 9,
  metrics: {},
  hyper: {},
}

describe('wire format v1', () => {
  it('decodes the doc example', () => {
    const line =
      '{"v":1,"step":3,"loss":0.5,"lr":0.1,"gradNorm":2,"evaluations":9,"metrics":{},"hyper":{}}'
    expect(decodeWireLine(line)).toEqual(base)
  })

  it('writes NaN as the $f64 marker, as the doc example says', () => {
    const f: WireFrame = { ...base, step: 0, loss: NaN, lr: NaN, gradNorm: 0, evaluations: 0 }
    expect(encodeWireLine(f)).toBe(
      '{"v":1,"step":0,"loss":{"$f64":"NaN"},"lr":{"$f64":"NaN"},"gradNorm":0,"evaluations":0,"metrics":{},"hyper":{}}',
    )
  })

  it('reads a line a Python publisher writes (tensor as base64 little-endian doubles)', () => {
    // python3 -c "import base64,numpy as np; print(base64.b64encode(np.array([1.5,-2.0],'<f8').tobytes()).decode())"
    const line =
      '{"v":1,"step":7,"loss":1.25,"lr":0.1,"gradNorm":{"$f64":"Infinity"},"evaluations":7,' +
      '"metrics":{"acc":0.5},"hyper":{},"run":"numpy","params":{"x":{"shape":[2],"data":{"$f64le":"AAAAAAAA+D8AAAAAAAAAwA=="}}}}'
    const f = decodeWireLine(line)
    expect(f.gradNorm).toBe(Infinity)
    expect(f.run).toBe('numpy')
    expect(f.metrics).toEqual({ acc: 0.5 })
    const x = (f.params as { x: { shape: number[]; data: Float64Array } }).x
    expect(x.shape).toEqual([2])
    expect(Array.from(x.data)).toEqual([1.5, -2])
  })

  it('round-trips any frame bit for bit (decode ∘ encode = id)', () => {
    const f64 = fc.double() // includes NaN, ±Infinity, −0
    const frame = fc.record({
      step: fc.nat(1e9),
      loss: f64,
      lr: f64,
      gradNorm: f64,
      evaluations: fc.nat(1e9),
      metrics: fc.dictionary(fc.constantFrom('acc', 'testAcc', 'x'), f64, { maxKeys: 3 }),
      params: fc.option(fc.array(f64, { minLength: 1, maxLength: 6 }), { nil: undefined }),
    })
    fc.assert(
      fc.property(frame, ({ params, ...rest }) => {
        const f: WireFrame = {
          v: 1,
          hyper: { 'sgd.lr': rest.lr },
          ...rest,
          ...(params
            ? { params: { w: { shape: [params.length], data: Float64Array.from(params) } } }
            : {}),
        }
        const back = decodeWireLine(encodeWireLine(f))
        expect(back).toEqual(f) // toEqual tells NaN = NaN and −0 ≠ 0 (Object.is on numbers)
      }),
    )
  })

  it('drops unknown fields (forward compatible) but refuses another version', () => {
    expect(decodeWireLine(encodeWireLine(base).replace('{', '{"extra":true,'))).toEqual(base)
    expect(() => decodeWireLine('{"v":2}')).toThrow(
      new TypeError('decodeWireLine: v: expected 1, got 2'),
    )
  })

  it.each([
    ['{oops', 'decodeWireLine: line: expected one JSON object, got "{oops"'],
    ['[1]', 'decodeWireLine: line: expected one JSON object, got "[1]"'],
    [
      encodeWireLine(base).replace('"step":3', '"step":-1'),
      'decodeWireLine: step: expected a non-negative integer, got -1',
    ],
    [
      encodeWireLine(base).replace('"loss":0.5', '"loss":"0.5"'),
      'decodeWireLine: loss: expected a number, got "0.5"',
    ],
    [
      encodeWireLine(base).replace('"loss":0.5', '"loss":{"$f64":"nan"}'),
      'decodeWireLine: loss.$f64: expected one of "NaN", "Infinity", "-Infinity", "-0", got "nan"',
    ],
    [
      encodeWireLine(base).replace('"metrics":{}', '"metrics":{"acc":null}'),
      'decodeWireLine: metrics.acc: expected a number, got null',
    ],
    [
      encodeWireLine(base).replace(
        '"hyper":{}',
        '"hyper":{},"params":{"w":{"shape":[3],"data":{"$f64le":"AAAAAAAA+D8="}}}',
      ),
      'decodeWireLine: params: expected a parameter tree (numbers, tensors {shape, data}, arrays, records), got an object',
    ],
    [
      encodeWireLine(base).replace('"hyper":{}', '"hyper":{},"__proto__":{"polluted":1}'),
      'decodeWireLine: __proto__: expected a key other than __proto__, constructor or prototype, got "__proto__"',
    ],
  ])('rejects %s', (line, message) => {
    expect(() => decodeWireLine(line)).toThrow(new TypeError(message))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('summarises a TrainState: gradNorm is the global L2 norm, params only on request', () => {
    const s: TrainState = {
      step: 1,
      params: [1, 2],
      loss: 25,
      grad: [3, 4],
      lr: 0.1,
      opt: {},
      hyper: { 'sgd.lr': 0.1 },
      evaluations: 4,
      rng: { words: [1, 2, 3, 4], spare: null },
      history: [],
      metrics: {},
    }
    expect(toWireFrame(s)).toEqual({
      ...base,
      step: 1,
      loss: 25,
      gradNorm: 5,
      evaluations: 4,
      hyper: { 'sgd.lr': 0.1 },
    })
    expect(toWireFrame(s, { params: true, run: 'a' }).params).toEqual([1, 2])
    expect(toWireFrame({ ...s, grad: null }).gradNorm).toBe(0)
  })
})
