import fc from 'fast-check'

/** Keys that prototype-pollution attacks use, mixed into every generated object. */
export const hostileKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  '$f64',
  '$f64le',
  '$$x',
  'shape',
  'data',
  'step',
  'words',
)

/** Number literals as JSON text, including ones that parse to ±Infinity, −0 or lose precision. */
export const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.constantFrom(
    '1e400',
    '-1e400',
    '-0',
    '0e-999',
    '9007199254740993',
    '1' + '0'.repeat(400),
    '5e-324',
    '1.7976931348623157e308',
  ),
  fc.integer().map(String),
)

/**
 * Arbitrary JSON *text*: objects are written by hand so `__proto__` becomes an own key when
 * parsed (as an attacker's file would), numbers include overflowing literals, and values nest
 * up to a few levels (deep nesting is added separately by `nest`).
 */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
    fc.constantFrom(
      'true',
      'false',
      'null',
      '{"$f64":"NaN"}',
      '{"$f64le":"AAAAAAAA8D8="}',
      '{"$f64le":"!!"}',
      '{"$i32le":"AAAA"}',
    ),
    fc.array(tie('v'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
    fc
      .array(fc.tuple(fc.oneof(hostileKey, fc.string({ maxLength: 4 })), tie('v')), {
        maxLength: 4,
      })
      .map((kvs) => `{${kvs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).v

/** Wraps JSON text in `depth` arrays or objects: deep nesting that recursion must survive. */
export const nest = (text: string, depth: number, inObject: boolean): string =>
  inObject
    ? '{"a":'.repeat(depth) + text + '}'.repeat(depth)
    : '['.repeat(depth) + text + ']'.repeat(depth)

/** Arbitrary JSON text, sometimes nested thousands of levels deep. */
export const hostileJson = fc.oneof(
  { weight: 4, arbitrary: jsonText },
  {
    weight: 1,
    arbitrary: fc
      .tuple(jsonText, fc.integer({ min: 50, max: 5000 }), fc.boolean())
      .map(([t, d, o]) => nest(t, d, o)),
  },
)
