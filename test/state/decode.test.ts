import fc from 'fast-check'
import * as t from 'io-ts'
import { describe as group, expect, it } from 'vitest'
import { FORBIDDEN_KEYS, describe } from '../../src/state/json.js'
import {
  anyNumber,
  arrayOf,
  configType,
  finiteNumber,
  optional,
  nullable,
  numberIn,
  oneOf,
  positiveNumber,
  recordOf,
  strictType,
} from '../../src/state/codecs.js'
import { decode, decodeOptions, report } from '../../src/state/decode.js'

const Adam = strictType(
  'adam options',
  { lr: positiveNumber },
  { beta1: numberIn(0, 1), eps: positiveNumber },
)

const thrown = (f: () => unknown): Error => {
  try {
    f()
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a throw')
}

group('report', () => {
  it('documents its example: one line per problem, with path, expected and value', () => {
    const C = t.type({ lr: t.number })
    const r = C.decode({ lr: 'x' })
    expect(r._tag).toBe('Left')
    if (r._tag === 'Left') expect(report(r.left)).toEqual(['lr: expected number, got "x"'])
  })

  it('joins keys with dots and indices with brackets, and prefixes a root name', () => {
    const C = strictType('config', {
      layers: arrayOf(strictType('a layer', { size: positiveNumber })),
    })
    const r = C.decode({ layers: [{ size: 2 }, { size: -1 }] })
    if (r._tag === 'Right') throw new Error('expected a failure')
    expect(report(r.left, 'net')).toEqual([
      'net.layers[1].size: expected a positive finite number, got -1',
    ])
    // io-ts's own t.array is indexed the same way
    const r2 = t.array(t.number).decode([1, 'a'])
    if (r2._tag === 'Right') throw new Error('expected a failure')
    expect(report(r2.left)).toEqual(['[1]: expected number, got "a"'])
  })

  it('collapses a union into one line naming it', () => {
    const C = strictType('o', {
      lr: t.union([positiveNumber, t.Function], 'a positive number or a schedule'),
    })
    const r = C.decode({ lr: 'x' })
    if (r._tag === 'Right') throw new Error('expected a failure')
    expect(report(r.left)).toEqual(['lr: expected a positive number or a schedule, got "x"'])
  })
})

group('decode', () => {
  it('documents its example', () => {
    const e = thrown(() =>
      decode(strictType('adam options', { lr: positiveNumber }), { lr: -0.1 }, 'adam'),
    )
    expect(e).toBeInstanceOf(RangeError)
    expect(e.message).toBe('adam: lr: expected a positive finite number, got -0.1')
  })

  it('returns the decoded value', () => {
    expect(decode(Adam, { lr: 0.1, beta1: 0.9 }, 'adam')).toEqual({ lr: 0.1, beta1: 0.9 })
  })

  it('lists every problem on its own line; NaN prints as NaN', () => {
    const e = thrown(() => decode(Adam, { lr: NaN, beta1: 1, eps: -0 }, 'adam'))
    expect(e).toBeInstanceOf(RangeError)
    expect(e.message).toBe(
      [
        'adam: lr: expected a positive finite number, got NaN',
        'adam: beta1: expected a number in [0, 1), got 1',
        'adam: eps: expected a positive finite number, got 0',
      ].join('\n'),
    )
  })

  it('is a TypeError when a value has the wrong kind, and names missing and unknown keys', () => {
    const e = thrown(() => decode(Adam, { beta1: '0.9', lrr: 0.1 }, 'adam'))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.message).toBe(
      [
        'adam: lr: expected a positive finite number, got undefined',
        'adam: beta1: expected a number in [0, 1), got "0.9"',
        'adam: lrr: expected no such key (known: lr, beta1, eps), got 0.1',
      ].join('\n'),
    )
    expect(thrown(() => decode(Adam, 3, 'adam')).message).toBe(
      'adam: (root): expected adam options, got 3',
    )
    expect(thrown(() => decode(Adam, 3, 'adam', 'options')).message).toBe(
      'adam: options: expected adam options, got 3',
    )
  })

  it('names the small codecs the way errors.ts words its checks', () => {
    expect(
      thrown(() => decode(oneOf('central', 'forward'), 'centre', 'perturb', 'kind')).message,
    ).toBe('perturb: kind: expected one of "central", "forward", got "centre"')
    expect(thrown(() => decode(nullable(finiteNumber), Infinity, 'f', 'x')).message).toBe(
      'f: x: expected a finite number or null, got Infinity',
    )
    expect(thrown(() => decode(recordOf(finiteNumber), { a: 1, b: NaN }, 'f', 'm')).message).toBe(
      'f: m.b: expected a finite number, got NaN',
    )
    expect(
      thrown(() => decode(arrayOf(finiteNumber), [1, 2, 3, 4, 5, 6, 7, 8, 9, 'x'], 'f', 'xs'))
        .message,
    ).toBe('f: xs[9]: expected a finite number, got "x"')
    expect(thrown(() => decode(arrayOf(finiteNumber), 'x'.repeat(100), 'f', 'xs')).message).toBe(
      `f: xs: expected an array of finite numbers, got "${'x'.repeat(40)}…"`,
    )
  })

  it('refuses prototype-polluting keys in records and strict objects', () => {
    const polluted = JSON.parse('{"lr":0.1,"__proto__":{"polluted":true}}')
    expect(thrown(() => decode(Adam, polluted, 'adam')).message).toBe(
      'adam: __proto__: expected a key other than __proto__, constructor or prototype, got "__proto__"',
    )
    expect(
      thrown(() => decode(recordOf(finiteNumber), JSON.parse('{"constructor":1}'), 'f', 'm'))
        .message,
    ).toBe(
      'f: m.constructor: expected a key other than __proto__, constructor or prototype, got "constructor"',
    )
    expect(Object.prototype).not.toHaveProperty('polluted')
  })
})

group('decodeOptions words options problems as every options-taking function does', () => {
  const failure = (f: () => unknown) => {
    try {
      f()
      return null
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`
    }
  }
  // values whose rendering is short (describe summarises long strings and big arrays; show does not)
  const value = fc.oneof(
    fc.double(),
    fc.string({ maxLength: 10 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.constant(() => 0),
  )
  const known = fc.uniqueArray(fc.constantFrom('lr', 'b1', 'eps', 'name', 'seed'), {
    minLength: 1,
  })
  const codecOf = (keys: readonly string[]) =>
    configType('f options', Object.fromEntries(keys.map((k) => [k, optional(anyNumber)])))

  it('one unknown key: the same line, a TypeError (property)', () => {
    fc.assert(
      fc.property(
        known,
        fc.string({ maxLength: 8 }),
        value,
        fc.constantFrom('f', 'scaleByAdam'),
        (keys, key, v, fn) => {
          fc.pre(!(keys as readonly string[]).includes(key) && !FORBIDDEN_KEYS.includes(key))
          const options = { [key]: v }
          expect(failure(() => decodeOptions(codecOf(keys), options, fn))).toBe(
            `TypeError: ${fn}: options.${key}: expected no such key (known: ${keys.join(', ')}), got ${describe(v)}`,
          )
        },
      ),
    )
  })

  it('options that are not an object: the same line, a TypeError (property)', () => {
    fc.assert(
      fc.property(known, value, (keys, v) => {
        expect(failure(() => decodeOptions(codecOf(keys), v, 'f'))).toBe(
          `TypeError: f: options: expected an object, got ${describe(v)}`,
        )
      }),
    )
  })
})
