import fc from 'fast-check'
import { describe as group, expect, it } from 'vitest'
import { JsonDataError, fromJson, toJson } from '../../src/state/json.js'

/** Bit-level equality of two doubles (distinguishes −0 from 0, every NaN is one NaN here). */
const sameDouble = (a: number, b: number) => Object.is(a, b)

const anyDouble = fc.double() // includes −0, NaN, ±Infinity, subnormals

group('toJson / fromJson', () => {
  it('documents its example', () => {
    expect(JSON.stringify(toJson({ w: Float64Array.of(1), b: -0 }))).toBe(
      '{"w":{"$f64le":"AAAAAAAA8D8="},"b":{"$f64":"-0"}}',
    )
    expect(fromJson(JSON.parse('{"b":{"$f64":"-0"},"$$k":1}'))).toEqual({ b: -0, $k: 1 })
  })

  it('writes −0, NaN and ±Infinity as tagged objects and other doubles as JSON numbers', () => {
    expect(toJson([-0, NaN, Infinity, -Infinity, 0, 1.5])).toEqual([
      { $f64: '-0' },
      { $f64: 'NaN' },
      { $f64: 'Infinity' },
      { $f64: '-Infinity' },
      0,
      1.5,
    ])
  })

  it('writes a Float64Array as base64 of its little-endian bytes', () => {
    // 1.0 is 0x3FF0000000000000: little-endian bytes 00 00 00 00 00 00 F0 3F, base64 AAAAAAAA8D8=
    // −2.0 is 0xC000000000000000: bytes 00 … 00 C0, base64 AAAAAAAAAMA=
    expect(toJson(Float64Array.of(1))).toEqual({ $f64le: 'AAAAAAAA8D8=' })
    expect(toJson(Float64Array.of(-2))).toEqual({ $f64le: 'AAAAAAAAAMA=' })
    expect(toJson(Int32Array.of(-1))).toEqual({ $i32le: '/////w==' })
  })

  it('round-trips every double exactly through a JSON string, as a scalar', () => {
    fc.assert(
      fc.property(anyDouble, (x) => {
        const back = fromJson(JSON.parse(JSON.stringify(toJson(x)))) as number
        expect(sameDouble(back, x)).toBe(true)
      }),
    )
  })

  it('round-trips every bit of a Float64Array (NaN payloads included)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 0xffffffff }),
            fc.integer({ min: 0, max: 0xffffffff }),
          ),
          { maxLength: 20 },
        ),
        (words) => {
          const bits = Uint32Array.from(words.flat())
          const f = new Float64Array(bits.buffer)
          const back = fromJson(JSON.parse(JSON.stringify(toJson(f)))) as Float64Array
          expect(back).toBeInstanceOf(Float64Array)
          expect([...new Uint32Array(back.buffer)]).toEqual([...bits])
        },
      ),
    )
  })

  it('round-trips nested plain data, escaping keys that start with $', () => {
    const data = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        anyDouble,
        fc.string({ maxLength: 5 }),
        fc.boolean(),
        fc.constant(null),
        fc.array(anyDouble, { maxLength: 4 }).map((a) => Float64Array.from(a)),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(
          fc
            .oneof(fc.string({ maxLength: 4 }), fc.constantFrom('$', '$f64', '$$x', 'a$'))
            .filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)),
          tie('value'),
          { maxKeys: 3, noNullPrototype: true },
        ),
      ),
    })).value
    fc.assert(
      fc.property(data, (v) => {
        const back = fromJson(JSON.parse(JSON.stringify(toJson(v))))
        // toStrictEqual uses Object.is on numbers (−0 ≠ 0, NaN = NaN) and compares typed arrays
        expect(back).toStrictEqual(v)
      }),
    )
  })

  it('refuses what JSON cannot hold faithfully, naming the path', () => {
    expect(() => toJson({ opt: { f: () => 1 } })).toThrow(
      'opt.f: expected plain data (number, string, boolean, null, typed array, array or plain object), got a function',
    )
    expect(() => toJson({ d: new Date(0) })).toThrow(
      'd: expected plain data (number, string, boolean, null, typed array, array or plain object), got Date',
    )
    const cyc: Record<string, unknown> = {}
    cyc.self = cyc
    expect(() => toJson(cyc)).toThrow('self: expected data without cycles, got a cycle')
  })

  it('names the function that found the problem, and refuses a problem that is not one', () => {
    expect(() => toJson({ opt: { f: () => 1 } })).toThrow(/^toJson: opt\.f: expected plain data/)
    expect(() => fromJson({ $f64: 'nan' })).toThrow(/^fromJson: \$f64: expected one of/)
    expect(() => new JsonDataError(undefined as never)).toThrow(
      'JsonDataError: problem: expected an object { path, expected, got }, got undefined',
    )
    const e = new JsonDataError({ path: 'a', expected: 'a number', got: 'x' }, 'load')
    expect(e.message).toBe('load: a: expected a number, got "x"')
  })

  it('refuses prototype-polluting keys and unknown tags when decoding', () => {
    expect(() => fromJson(JSON.parse('{"a":{"__proto__":{"polluted":1}}}'))).toThrow(
      'a.__proto__: expected a key other than __proto__, constructor or prototype, got "__proto__"',
    )
    expect(() => fromJson(JSON.parse('{"constructor":{"prototype":{}}}'))).toThrow(
      'constructor: expected a key other than __proto__, constructor or prototype, got "constructor"',
    )
    // the escaped spelling of a forbidden key is refused too
    expect(() => fromJson(JSON.parse('{"$$__proto__":1}'))).not.toThrow()
    expect(() => fromJson({ x: { $eval: 'process.exit()' } })).toThrow(
      'x.$eval: expected a known tag ($f64, $f64le, $i32le, $u32le, $u8) or a key escaped as "$$eval", got "$eval"',
    )
    expect(() => fromJson({ x: { $f64: 'nan' } })).toThrow(
      'x.$f64: expected one of "NaN", "Infinity", "-Infinity", "-0", got "nan"',
    )
    expect(() => fromJson({ x: { $f64: 'NaN', y: 1 } })).toThrow(
      'x: expected $f64 alone in its object, got the keys "$f64", "y"',
    )
    expect(() => fromJson({ x: { $f64le: 'AAA' } })).toThrow(
      'x.$f64le: expected a base64 string, got "AAA"',
    )
    expect(() => fromJson({ x: { $f64le: 'AAAA' } })).toThrow(
      'x.$f64le: expected a whole number of 8-byte values, got 3 bytes',
    )
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  it('bounds nesting depth instead of overflowing the stack', () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(() => fromJson(deep)).toThrow(
      'expected at most 64 levels of nesting, got a deeper value',
    )
    expect(() => toJson(deep)).toThrow('expected at most 64 levels of nesting, got a deeper value')
  })
})
