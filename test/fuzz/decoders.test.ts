import fc from 'fast-check'
import { afterAll, describe as group, expect, it } from 'vitest'
import { rng } from '../../src/random/rng.js'
import { checkpoint, restore } from '../../src/state/checkpoint.js'
import {
  ParamsC,
  PlainDataC,
  RngStateC,
  StopReasonC,
  TensorC,
  TrainStateC,
} from '../../src/state/codecs.js'
import {
  CosineDecayOptionsC,
  RandomBatchesOptionsC,
  SpsaOptionsC,
  TrainConfigC,
  TwoLayerNetConfigC,
} from '../../src/state/configCodecs.js'
import { decode } from '../../src/state/decode.js'
import { decodeWireLine } from '../../src/state/wireFormat.js'
import { fromJson } from '../../src/state/json.js'
import type { TrainState } from '../../src/state/types.js'
import { tensor } from '../../src/tensor/tensor.js'
import { hostileJson, jsonText } from './jsonArbitraries.js'

// Every decoder we own, fed arbitrary JSON. Each must return a value or throw a TypeError /
// RangeError whose every line reads `fn: path: expected <what>, got <value>`, and must leave
// Object.prototype (and friends) exactly as they were.

const decoders: Record<string, (json: string) => unknown> = {
  restore: (json) => restore(json),
  fromJson: (json) => {
    try {
      return fromJson(JSON.parse(json))
    } catch (e) {
      // fromJson's own errors carry a path but no function name: add it like callers do
      if (e instanceof TypeError && !(e instanceof SyntaxError))
        throw new TypeError(`fromJson: ${e.message}`)
      throw e
    }
  },
  ParamsC: (json) => decode(ParamsC, fromJsonSafe(json), 'ParamsC'),
  TensorC: (json) => decode(TensorC, fromJsonSafe(json), 'TensorC'),
  RngStateC: (json) => decode(RngStateC, fromJsonSafe(json), 'RngStateC'),
  StopReasonC: (json) => decode(StopReasonC, fromJsonSafe(json), 'StopReasonC'),
  PlainDataC: (json) => decode(PlainDataC, fromJsonSafe(json), 'PlainDataC'),
  TrainStateC: (json) => decode(TrainStateC, fromJsonSafe(json), 'TrainStateC'),
  // configuration codecs, as a config file or a UI form would be checked
  TrainConfigC: (json) => decode(TrainConfigC, JSON.parse(json), 'TrainConfigC'),
  CosineDecayOptionsC: (json) => decode(CosineDecayOptionsC, JSON.parse(json), 'cosineDecay'),
  SpsaOptionsC: (json) => decode(SpsaOptionsC, JSON.parse(json), 'spsa'),
  TwoLayerNetConfigC: (json) => decode(TwoLayerNetConfigC, JSON.parse(json), 'twoLayerNet'),
  RandomBatchesOptionsC: (json) =>
    decode(RandomBatchesOptionsC, fromJsonSafe(json), 'randomBatches'),
  // the live wire format (issue 7) reuses the JSON encoding: one more decoder of untrusted text
  decodeWireLine: (json) => decodeWireLine(json),
  // the io-ts codecs must also survive raw JSON.parse output (own __proto__ keys, deep nesting)
  'TrainStateC(raw)': (json) => decode(TrainStateC, JSON.parse(json), 'TrainStateC'),
  'ParamsC(raw)': (json) => decode(ParamsC, JSON.parse(json), 'ParamsC'),
}

function fromJsonSafe(json: string): unknown {
  try {
    return fromJson(JSON.parse(json))
  } catch {
    return JSON.parse(json) // let the codec see the raw value instead
  }
}

const base: TrainState = {
  step: 1,
  params: { W: tensor([[1, 2]]), b: 0 },
  loss: 0.5,
  grad: { W: tensor([[0, 1]]), b: 1 },
  lr: 0.1,
  opt: { scaleByAdam: { mu: { W: tensor([[0, 0]]), b: 0 }, count: 1 } },
  hyper: {},
  evaluations: 3,
  rng: rng(5).state(),
  history: [0.5],
  metrics: {},
}
const baseBody = JSON.parse(checkpoint(base)).state as Record<string, unknown>
const fields = Object.keys(baseBody)

const snapshot = () =>
  [Object.prototype, Array.prototype, Function.prototype, Float64Array.prototype].map((p) =>
    Object.getOwnPropertyNames(p).join(','),
  )
const before = snapshot()
const tried: Record<string, number> = {}

const LINE = /^[A-Za-z()]+: [^\n]*: expected .+, got .+$/

function check(name: string, json: string): void {
  tried[name] = (tried[name] ?? 0) + 1
  try {
    decoders[name](json)
  } catch (e) {
    if (e instanceof SyntaxError && name !== 'restore') return // JSON.parse itself, not ours
    expect(e instanceof TypeError || e instanceof RangeError, String(e)).toBe(true)
    for (const line of (e as Error).message.split('\n')) expect(line).toMatch(LINE)
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
}

group('fuzzing every decoder with hostile JSON', () => {
  afterAll(() => {
    const total = Object.values(tried).reduce((a, b) => a + b, 0)
    console.log(
      `fuzz: ${total} inputs tried (${Object.entries(tried)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    )
    expect(snapshot()).toEqual(before)
  })

  it('arbitrary JSON text: a value or a readable error, never a crash or pollution', () => {
    fc.assert(
      fc.property(hostileJson, (json) => {
        for (const name of Object.keys(decoders)) check(name, json)
      }),
    )
  })

  it('a valid checkpoint with one field replaced by hostile JSON', () => {
    fc.assert(
      fc.property(fc.constantFrom(...fields, 'extra'), jsonText, (field, text) => {
        const body = `{${[...fields.filter((f) => f !== field).map((f) => `${JSON.stringify(f)}:${JSON.stringify(baseBody[f])}`), `${JSON.stringify(field)}:${text}`].join(',')}}`
        check('restore', `{"format":"gradstream-checkpoint","version":1,"state":${body}}`)
      }),
    )
  })

  it('a valid checkpoint with bytes flipped or cut', () => {
    const good = checkpoint(base)
    fc.assert(
      fc.property(
        fc.nat({ max: good.length - 1 }),
        fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 3 })),
        fc.boolean(),
        (at, insert, cut) => {
          const json = cut ? good.slice(0, at) : good.slice(0, at) + insert + good.slice(at + 1)
          check('restore', json)
        },
      ),
    )
  })
})
