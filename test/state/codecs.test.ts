import { describe as group, expect, it } from 'vitest'
import { rng } from '../../src/random/rng.js'
import * as t from 'io-ts'
import {
  ParamsC,
  PlainDataC,
  RngStateC,
  TensorC,
  TrainStateC,
  arrayOf,
  integerIn,
  nullable,
  numberIn,
  oneOf,
  positiveNumber,
  recordOf,
  strictType,
} from '../../src/state/codecs.js'
import { decode, report } from '../../src/state/decode.js'
import { fromData, tensor } from '../../src/tensor/tensor.js'
import { thrownMessage } from '../helpers/thrown.js'

const state = () => ({
  step: 2,
  params: { W: tensor([[1, 2]]), b: [0.5, -0] },
  loss: 0.25,
  grad: { W: tensor([[0.1, 0.2]]), b: [1, 2] },
  lr: 0.01,
  opt: { scaleByMomentum: { velocity: { W: tensor([[0, 0]]), b: [0, 0] } } },
  hyper: { 'scaleByLearningRate.lr': 0.01 },
  evaluations: 10,
  rng: rng(7).state(),
  history: [1, 0.5],
  metrics: { accuracy: 0.5 },
})

group('ParamsC', () => {
  it('accepts numbers, tensors, arrays and records', () => {
    const p = {
      W: tensor([
        [1, 2],
        [3, 4],
      ]),
      layers: [1, { b: NaN }],
    }
    expect(decode(ParamsC, p, 'f', 'params')).toEqual(p)
  })

  it('names the leaf that is not a parameter', () => {
    expect(thrownMessage(() => decode(ParamsC, { W: 'x' }, 'train', 'params'))).toBe(
      'train: params.W: expected a number, a tensor, an array or a record, got "x"',
    )
    expect(thrownMessage(() => decode(ParamsC, [1, [2, null]], 'train', 'params'))).toBe(
      'train: params[1][1]: expected a number, a tensor, an array or a record, got null',
    )
  })

  it('checks a tensor’s shape against its data', () => {
    const bad = { shape: [2, 3], data: new Float64Array(5) }
    expect(thrownMessage(() => decode(ParamsC, { W: bad }, 'train', 'params'))).toBe(
      'train: params.W.data: expected 6 values for shape [2,3], got 5',
    )
    expect(
      thrownMessage(() => decode(TensorC, { shape: [2, -1], data: new Float64Array(0) }, 'f', 't')),
    ).toBe('f: t.shape[1]: expected a non-negative integer, got -1')
    expect(
      thrownMessage(() => decode(TensorC, { shape: [1], data: new Float64Array(1), grad: 1 }, 'f', 't')),
    ).toBe(
      'f: t: expected a tensor with only the keys shape and data, got the keys shape, data, grad',
    )
    expect(thrownMessage(() => decode(TensorC, [1, 2], 'f', 't'))).toBe(
      'f: t: expected a tensor {shape, data: Float64Array}, got [1,2]',
    )
    expect(decode(TensorC, fromData([0], new Float64Array(0)), 'f')).toEqual({
      shape: [0],
      data: new Float64Array(0),
    })
  })
})

group('RngStateC', () => {
  it('accepts what rng(seed).state() returns, after draws too', () => {
    const r = rng(3)
    r.normal()
    expect(decode(RngStateC, r.state(), 'f')).toEqual(r.state())
  })

  it('refuses the all-zero state (xoroshiro128+ would emit zeros forever) and non-int32 words', () => {
    expect(thrownMessage(() => decode(RngStateC, { words: [0, 0, 0, 0], spare: null }, 'f', 'rng'))).toBe(
      'f: rng.words: expected four 32-bit integers, not all zero, got [0,0,0,0]',
    )
    expect(
      thrownMessage(() => decode(RngStateC, { words: [1, 2, 3, 2 ** 31], spare: null }, 'f', 'rng')),
    ).toBe('f: rng.words: expected four 32-bit integers, not all zero, got [1,2,3,2147483648]')
    expect(thrownMessage(() => decode(RngStateC, { words: [1, 2, 3, 4], spare: NaN }, 'f', 'rng'))).toBe(
      'f: rng.spare: expected a finite number or null, got NaN',
    )
  })
})

group('TrainStateC', () => {
  it('accepts a training state and keeps extra plain fields', () => {
    const s = { ...state(), sampler: { epoch: 1, order: Int32Array.of(2, 0, 1) } }
    expect(decode(TrainStateC, s, 'f')).toEqual(s)
  })

  it('reports every bad field with its path', () => {
    const s = { ...state(), step: -1, lr: 'fast', evaluations: 1.5, history: [1, 'x'] }
    expect(thrownMessage(() => decode(TrainStateC, s, 'restore', 'state'))).toBe(
      [
        'restore: state.step: expected a non-negative integer, got -1',
        'restore: state.lr: expected a number, got "fast"',
        'restore: state.evaluations: expected a non-negative integer, got 1.5',
        'restore: state.history[1]: expected a number, got "x"',
      ].join('\n'),
    )
  })

  it('requires the gradient to have the parameters’ structure', () => {
    const s = { ...state(), grad: { W: tensor([[1], [2]]), b: [1, 2] } }
    expect(thrownMessage(() => decode(TrainStateC, s, 'restore', 'state'))).toBe(
      'restore: state.grad: expected the structure of params, got shape [2,1] at W where params has [1,2]',
    )
    const s2 = { ...state(), grad: { W: tensor([[1, 2]]) } }
    expect(thrownMessage(() => decode(TrainStateC, s2, 'restore', 'state'))).toBe(
      'restore: state.grad: expected the structure of params, got keys W at (root) where params has W, b',
    )
  })

  it('refuses code and class instances in optimizer slots and extra fields', () => {
    const s = { ...state(), opt: { mine: { f: () => 0 } } }
    expect(thrownMessage(() => decode(TrainStateC, s, 'restore', 'state'))).toBe(
      'restore: state.opt.mine.f: expected plain data, got a function',
    )
    expect(thrownMessage(() => decode(PlainDataC, { when: new Date(0) }, 'f', 'x'))).toBe(
      'f: x.when: expected plain data, got Date',
    )
  })

  it('refuses builder arguments that are not codecs, strings or bounds, by name', () => {
    const bad = undefined as never
    expect(thrownMessage(() => arrayOf(bad))).toBe('arrayOf: item: expected an io-ts codec, got undefined')
    expect(thrownMessage(() => nullable(bad))).toBe('nullable: codec: expected an io-ts codec, got undefined')
    expect(thrownMessage(() => recordOf(bad))).toBe('recordOf: value: expected an io-ts codec, got undefined')
    expect(thrownMessage(() => strictType('o', { a: bad }))).toBe(
      'strictType: required.a: expected an io-ts codec, got undefined',
    )
    expect(thrownMessage(() => strictType('o', bad))).toBe(
      'strictType: required: expected an object of codecs, got undefined',
    )
    expect(thrownMessage(() => oneOf('a', 1 as never))).toBe('oneOf: values[1]: expected a string, got 1')
    expect(thrownMessage(() => integerIn(3, 1))).toBe('integerIn: hi: expected a number ≥ lo (3), got 1')
    expect(thrownMessage(() => numberIn(NaN, 1))).toBe('numberIn: lo: expected a number, got NaN')
    expect(thrownMessage(() => decode(bad, 1, 'f'))).toBe(
      'decode: codec: expected an io-ts codec, got undefined',
    )
    expect(thrownMessage(() => report([undefined] as never))).toBe(
      'report: errors[0]: expected an io-ts validation error ({ value, context }), got undefined',
    )
    // a codec from any copy of io-ts is a codec: the check is by shape, not by class
    expect(decode(arrayOf(t.number), [1, 2], 'f')).toEqual([1, 2])
    expect(decode(nullable(positiveNumber), null, 'f')).toBe(null)
  })
})
