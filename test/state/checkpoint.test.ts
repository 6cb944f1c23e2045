import fc from 'fast-check'
import { describe as group, expect, it } from 'vitest'
import { rng, rngFromState } from '../../src/random/rng.js'
import { checkpoint, restore } from '../../src/state/checkpoint.js'
import type { TrainState } from '../../src/state/types.js'
import { tensor } from '../../src/tensor/tensor.js'
import { trainStateArb } from './arbitraries.js'
import { thrown } from '../helpers/thrown.js'

const state: TrainState = {
  step: 3,
  params: {
    W: tensor([
      [1, -0],
      [NaN, Infinity],
    ]),
    b: -0,
  },
  loss: NaN,
  grad: null,
  lr: 0.1,
  opt: {
    scaleByMomentum: {
      velocity: {
        W: tensor([
          [0, 0],
          [0, 0],
        ]),
        b: 0,
      },
    },
  },
  hyper: { 'scaleByLearningRate.lr': 0.1 },
  evaluations: 5,
  rng: rng(1).state(),
  history: [1, -Infinity],
  metrics: {},
  stopReason: { rule: 'maxSteps', n: 3 },
}

const envelope = (s: unknown) =>
  JSON.stringify({ format: 'gradstream-checkpoint', version: 1, state: s })

group('checkpoint / restore', () => {
  it('documents its example: restore(checkpoint(s)) equals s bit for bit', () => {
    const back = restore(checkpoint(state))
    expect(back).toStrictEqual(state)
    expect(Object.is((back.params as { b: number }).b, -0)).toBe(true)
  })

  it('writes a versioned envelope with tagged non-finite values and no trailing newline', () => {
    const json = checkpoint(state)
    expect(
      json.startsWith('{"format":"gradstream-checkpoint","version":1,"state":{"step":3,'),
    ).toBe(true)
    expect(json).toContain('"loss":{"$f64":"NaN"}')
    expect(json).toContain('"b":{"$f64":"-0"}')
    expect(json.endsWith('}}')).toBe(true)
  })

  it('round-trips random states exactly (property)', () => {
    fc.assert(
      fc.property(trainStateArb, (s) => {
        expect(restore(checkpoint(s))).toStrictEqual(s)
      }),
    )
  })

  it('restores a generator that continues the same sequence', () => {
    const g = rng(11)
    g.normal() // leaves a spare deviate pending
    const s = { ...state, rng: g.state() }
    const h = rngFromState(restore(checkpoint(s)).rng)
    expect([h.normal(), h.uniform(), h.normal()]).toEqual([g.normal(), g.uniform(), g.normal()])
  })

  it('returns a deeply frozen state', () => {
    const back = restore(checkpoint(state))
    expect(Object.isFrozen(back)).toBe(true)
    expect(Object.isFrozen(back.params)).toBe(true)
    expect(Object.isFrozen(back.opt.scaleByMomentum)).toBe(true)
  })

  it('rejects a checkpoint truncated anywhere with a clear message (property)', () => {
    const json = checkpoint(state)
    fc.assert(
      fc.property(fc.nat({ max: json.length - 1 }), (cut) => {
        expect(thrown(() => restore(json.slice(0, cut)))).toMatch(
          /^TypeError: restore: json: expected a complete JSON checkpoint, got invalid JSON \(.+\)$/,
        )
      }),
    )
    expect(thrown(() => restore(''))).toBe(
      'TypeError: restore: json: expected a complete JSON checkpoint, got invalid JSON (Unexpected end of JSON input)',
    )
  })

  it('names what is wrong with the envelope', () => {
    expect(thrown(() => restore('[1]'))).toBe(
      'TypeError: restore: (root): expected a checkpoint object, got [1]',
    )
    expect(thrown(() => restore('{"format":"other","version":1,"state":{}}'))).toBe(
      'TypeError: restore: format: expected "gradstream-checkpoint", got "other"',
    )
    expect(thrown(() => restore('{"format":"gradstream-checkpoint","version":9,"state":{}}'))).toBe(
      'RangeError: restore: version: expected 1, got 9',
    )
    expect(
      thrown(() => restore('{"format":"gradstream-checkpoint","version":1,"state":{},"more":1}')),
    ).toBe(
      'TypeError: restore: more: expected no such key (known: format, version, state, run), got 1',
    )
    expect(thrown(() => restore(42 as unknown as string))).toBe(
      'TypeError: restore: json: expected a string, got 42',
    )
  })

  it('names bad fields inside the state with their paths', () => {
    const body = JSON.parse(checkpoint(state)).state
    expect(thrown(() => restore(envelope({ ...body, step: -1 })))).toBe(
      'RangeError: restore: state.step: expected a non-negative integer, got -1',
    )
    expect(
      thrown(() =>
        restore(
          envelope({ ...body, params: { W: { shape: [2, 3], data: { $f64le: 'AAAAAAAA8D8=' } } } }),
        ),
      ),
    ).toBe('TypeError: restore: state.params.W.data: expected 6 values for shape [2,3], got 1')
    expect(thrown(() => restore(envelope({ ...body, loss: { $f64: 'nan' } })))).toBe(
      'TypeError: restore: state.loss.$f64: expected one of "NaN", "Infinity", "-Infinity", "-0", got "nan"',
    )
    const { rng: _omit, ...noRng } = body
    expect(thrown(() => restore(envelope(noRng)))).toBe(
      'TypeError: restore: state.rng: expected a random generator state {words, spare}, got undefined',
    )
  })

  it('never evaluates code nor pollutes prototypes', () => {
    const body = JSON.parse(checkpoint(state)).state
    const hostile = [
      `{"format":"gradstream-checkpoint","version":1,"state":{"__proto__":{"polluted":1}}}`,
      envelope({ ...body, opt: JSON.parse('{"__proto__":{"polluted":1}}') }),
      envelope({ ...body, metrics: { constructor: { prototype: { polluted: 1 } } } }),
      envelope({ ...body, params: { toString: { $f64: 'NaN' }, valueOf: 1 } }),
      envelope({ ...body, opt: { x: { $fn: 'globalThis.polluted = 1' } } }),
    ]
    const messages = hostile.map((h) => thrown(() => restore(h)))
    expect(messages).toEqual([
      'TypeError: restore: state.__proto__: expected a key other than __proto__, constructor or prototype, got "__proto__"',
      'TypeError: restore: state.opt.__proto__: expected a key other than __proto__, constructor or prototype, got "__proto__"',
      'TypeError: restore: state.metrics.constructor: expected a key other than __proto__, constructor or prototype, got "constructor"',
      'no error',
      'TypeError: restore: state.opt.x.$fn: expected a known tag ($f64, $f64le, $i32le, $u32le, $u8) or a key escaped as "$$fn", got "$fn"',
    ])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((globalThis as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses to write what it could not read back', () => {
    expect(thrown(() => checkpoint({ ...state, opt: { mine: { f: () => 0 } } }))).toBe(
      'TypeError: checkpoint: state.opt.mine.f: expected plain data, got a function',
    )
    expect(thrown(() => checkpoint({ ...state, step: 1.5 }))).toBe(
      'RangeError: checkpoint: state.step: expected a non-negative integer, got 1.5',
    )
  })
})
