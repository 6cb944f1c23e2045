import { show } from '../errors.js'

/**
 * The exact JSON encoding of gradstream's plain data (format version 1), used by checkpoints.
 *
 * JSON has no −0, NaN or ±Infinity, and decimal text is bulky for large tensors, so:
 *
 * | value                                   | JSON                                            |
 * | --------------------------------------- | ----------------------------------------------- |
 * | finite number other than −0             | a JSON number (shortest round-trip text: exact) |
 * | −0, NaN, Infinity, −Infinity            | `{"$f64":"-0"}`, `{"$f64":"NaN"}`, …            |
 * | Float64Array                            | `{"$f64le":"<base64 of the little-endian bytes>"}` |
 * | Int32Array / Uint32Array / Uint8Array   | `{"$i32le": …}` / `{"$u32le": …}` / `{"$u8": …}` |
 * | string, boolean, null                   | itself                                          |
 * | array                                   | array of encoded elements                       |
 * | plain object                            | object of encoded values; a key starting with `$` is written with one more `$` |
 *
 * A tensor `{ shape, data }` is therefore `{"shape":[2,3],"data":{"$f64le":"…"}}`: every bit of
 * every double survives (NaN payloads included in typed arrays). Decoding builds fresh objects,
 * never evaluates anything, refuses the keys `__proto__`, `constructor` and `prototype`, and
 * limits nesting depth, so hostile input can neither pollute prototypes nor overflow the stack.
 */

/** What `JSON.parse` can return. */
export type Json =
  null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json }

/** The deepest nesting `fromJson` accepts (parameter trees and optimizer slots are shallow). */
export const MAX_DEPTH = 64

/** Keys refused anywhere in decoded data: they are the handles of prototype pollution. */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype']

const TAGS = ['$f64', '$f64le', '$i32le', '$u32le', '$u8'] as const
type Tag = (typeof TAGS)[number]

/** One problem found while encoding or decoding, at a field path (`opt.adam.mu[0]`). */
export interface JsonProblem {
  readonly path: string
  readonly expected: string
  readonly got: unknown
}

/**
 * Thrown by `toJson` / `fromJson`; `problem` says where and what, `fn` which function found it
 * (the message starts with it: `toJson: opt.f: expected …`).
 */
export class JsonDataError extends TypeError {
  override name = 'JsonDataError'
  constructor(
    readonly problem: JsonProblem,
    fn?: string,
  ) {
    const p: unknown = problem
    if (typeof p !== 'object' || p === null || typeof (p as JsonProblem).path !== 'string') {
      throw new TypeError(
        `JsonDataError: problem: expected an object { path, expected, got }, got ${show(p)}`,
      )
    }
    const where = `${problem.path || '(root)'}: expected ${String(problem.expected)}, got ${describe(problem.got)}`
    super(typeof fn === 'string' ? `${fn}: ${where}` : where)
  }
}

/** A description already in words (`3 bytes`), printed as is by `describe`. */
export class Words {
  constructor(readonly text: string) {}
}

/**
 * A short rendering of any value for messages, as `show` in src/errors.ts renders it (NaN stays
 * NaN, `String(v)` for numbers, class instances by name, functions as `a function`), except that
 * long strings are cut at 40 characters and long arrays summarised as `an array of length n`.
 */
export function describe(v: unknown): string {
  if (v instanceof Words) return v.text
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'symbol') return 'a symbol'
  if (Array.isArray(v)) {
    const flat = v.length <= 16 && v.every((x) => typeof x !== 'object' || x === null)
    const s = flat ? show(v) : ''
    return s !== '' && s.length <= 60 ? s : `an array of length ${v.length}`
  }
  if (ArrayBuffer.isView(v)) {
    return `${v.constructor.name}(${(v as unknown as { length: number }).length})`
  }
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null) return 'an object'
  return show(v)
}

const joinKey = (path: string, key: string) => (path ? `${path}.${key}` : key)
const fail = (path: string, expected: string, got: unknown): never => {
  throw new JsonDataError({ path, expected, got })
}

// ---- base64 of bytes (btoa/atob exist in Node ≥ 16 and every browser) ------------------------

function bytesToBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[])
  }
  return btoa(s)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function base64ToBytes(s: string, path: string): Uint8Array {
  if (s.length % 4 !== 0 || !BASE64.test(s)) fail(path, 'a base64 string', s)
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The little-endian bytes of a typed array's elements. */
function toLeBytes(a: Float64Array | Int32Array | Uint32Array | Uint8Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength))
  if (!littleEndian && a.BYTES_PER_ELEMENT > 1) {
    for (let i = 0; i < bytes.length; i += a.BYTES_PER_ELEMENT) {
      bytes.subarray(i, i + a.BYTES_PER_ELEMENT).reverse()
    }
  }
  return bytes
}

function fromLeBytes(tag: Tag, bytes: Uint8Array, path: string): unknown {
  const width = tag === '$f64le' ? 8 : tag === '$u8' ? 1 : 4
  if (bytes.length % width !== 0) {
    fail(path, `a whole number of ${width}-byte values`, new Words(`${bytes.length} bytes`))
  }
  if (!littleEndian && width > 1) {
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse()
  }
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  if (tag === '$f64le') return new Float64Array(buf)
  if (tag === '$i32le') return new Int32Array(buf)
  if (tag === '$u32le') return new Uint32Array(buf)
  return new Uint8Array(buf)
}

// ---- encoding --------------------------------------------------------------------------------

function encodeNumber(v: number): Json {
  if (Number.isNaN(v)) return { $f64: 'NaN' }
  if (v === Infinity) return { $f64: 'Infinity' }
  if (v === -Infinity) return { $f64: '-Infinity' }
  if (Object.is(v, -0)) return { $f64: '-0' }
  return v
}

/**
 * Encodes plain data (numbers, strings, booleans, null, typed arrays, arrays, plain objects)
 * as JSON-safe values that `fromJson` turns back into equal data, bit for bit.
 *
 * @example
 * ```ts
 * import { JsonDataError, toJson } from 'gradstream'
 *
 * console.log(JSON.stringify(toJson({ w: Float64Array.of(1), b: -0 })))
 * // → {"w":{"$f64le":"AAAAAAAA8D8="},"b":{"$f64":"-0"}}
 * try {
 *   toJson({ opt: { f: () => 0 } })
 * } catch (e) {
 *   if (e instanceof JsonDataError) console.log(e.message)
 *   // → toJson: opt.f: expected plain data (number, string, boolean, null, typed array, array or plain object), got a function
 * }
 * ```
 * @throws {JsonDataError} `toJson: opt.f: expected plain data (number, string, boolean, null, typed array, array or plain object), got a function`
 */
export function toJson(value: unknown): Json {
  return named('toJson', encodeJson, value)
}

/** Rethrows a `JsonDataError` from `code` with the public function's name in front. */
function named<A>(fn: string, code: (v: unknown) => A, v: unknown): A {
  try {
    return code(v)
  } catch (e) {
    if (e instanceof JsonDataError) throw new JsonDataError(e.problem, fn)
    throw e
  }
}

/**
 * `toJson` for callers that put their own name and path in front of the problem (checkpoint,
 * the wire format): its `JsonDataError`s start with the path.
 */
export function encodeJson(value: unknown): Json {
  const seen = new Set<object>()
  const go = (v: unknown, path: string, depth: number): Json => {
    if (depth > MAX_DEPTH)
      fail(path, `at most ${MAX_DEPTH} levels of nesting`, new Words('a deeper value'))
    if (typeof v === 'number') return encodeNumber(v)
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v
    if (v instanceof Float64Array) return { $f64le: bytesToBase64(toLeBytes(v)) }
    if (v instanceof Int32Array) return { $i32le: bytesToBase64(toLeBytes(v)) }
    if (v instanceof Uint32Array) return { $u32le: bytesToBase64(toLeBytes(v)) }
    if (v instanceof Uint8Array) return { $u8: bytesToBase64(v) }
    if (typeof v === 'object') {
      if (seen.has(v)) fail(path, 'data without cycles', new Words('a cycle'))
      if (Array.isArray(v)) {
        seen.add(v)
        const out = v.map((x, i) => go(x, `${path}[${i}]`, depth + 1))
        seen.delete(v)
        return out
      }
      const proto = Object.getPrototypeOf(v)
      if (proto === null || proto === Object.prototype) {
        seen.add(v)
        const out: Record<string, Json> = {}
        for (const k of Object.keys(v)) {
          const x = (v as Record<string, unknown>)[k]
          if (x === undefined) continue // as JSON.stringify does: an absent optional field
          if (FORBIDDEN_KEYS.includes(k))
            fail(joinKey(path, k), 'a key other than __proto__, constructor or prototype', k)
          out[k.startsWith('$') ? `$${k}` : k] = go(x, joinKey(path, k), depth + 1)
        }
        seen.delete(v)
        return out
      }
    }
    return fail(
      path,
      'plain data (number, string, boolean, null, typed array, array or plain object)',
      v,
    )
  }
  return go(value, '', 0)
}

// ---- decoding --------------------------------------------------------------------------------

const F64_SPECIAL: Record<string, number> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '-0': -0,
}

/**
 * The inverse of `toJson`: turns parsed JSON back into plain data (typed arrays, exact
 * doubles). Builds new objects only, refuses `__proto__` / `constructor` / `prototype` keys and
 * nesting deeper than `MAX_DEPTH`, and never runs code found in the input.
 *
 * @example
 * ```ts
 * import { fromJson } from 'gradstream'
 *
 * const v = fromJson(JSON.parse('{"b":{"$f64":"-0"},"$$k":1}')) as { b: number; $k: number }
 * console.log(Object.is(v.b, -0), v.$k) // → true 1
 * // -0 survives; a key starting with `$` is escaped as `$$`
 * ```
 * @throws {JsonDataError} `fromJson: b: expected one of "NaN", "Infinity", "-Infinity", "-0", got "nan"`
 * @throws {JsonDataError} `fromJson: loss: expected a number within the double range (±Infinity is written tagged), got Infinity` (from the literal `1e400`)
 */
export function fromJson(json: unknown): unknown {
  return named('fromJson', decodeJson, json)
}

/** `fromJson` for callers that name the problem themselves (see `encodeJson`). */
export function decodeJson(json: unknown): unknown {
  const go = (v: unknown, path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH)
      fail(path, `at most ${MAX_DEPTH} levels of nesting`, new Words('a deeper value'))
    if (typeof v === 'number' && !Number.isFinite(v)) {
      // JSON.parse reads a literal such as 1e400 as Infinity: the encoding writes ±Infinity
      // tagged, so a bare one is an overflowed number, not a value anyone wrote
      return fail(path, 'a number within the double range (±Infinity is written tagged)', v)
    }
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null) {
      return v
    }
    if (Array.isArray(v)) {
      const out = new Array<unknown>(v.length)
      for (let i = 0; i < v.length; i++) out[i] = go(v[i], `${path}[${i}]`, depth + 1)
      return out
    }
    if (typeof v !== 'object') return fail(path, 'JSON data', v)
    const proto = Object.getPrototypeOf(v)
    if (proto !== null && proto !== Object.prototype) return fail(path, 'JSON data', v)
    const keys = Object.keys(v)
    const tag = keys.find((k) => k.startsWith('$') && !k.startsWith('$$'))
    if (tag !== undefined) {
      if (!(TAGS as readonly string[]).includes(tag)) {
        return fail(
          joinKey(path, tag),
          `a known tag (${TAGS.join(', ')}) or a key escaped as "$${tag}"`,
          tag,
        )
      }
      if (keys.length !== 1) {
        return fail(
          path,
          `${tag} alone in its object`,
          new Words(`the keys ${keys.map((k) => JSON.stringify(k)).join(', ')}`),
        )
      }
      const body = (v as Record<string, unknown>)[tag]
      if (tag === '$f64') {
        if (typeof body !== 'string' || !Object.hasOwn(F64_SPECIAL, body)) {
          return fail(joinKey(path, tag), 'one of "NaN", "Infinity", "-Infinity", "-0"', body)
        }
        return F64_SPECIAL[body]
      }
      if (typeof body !== 'string') return fail(joinKey(path, tag), 'a base64 string', body)
      return fromLeBytes(tag as Tag, base64ToBytes(body, joinKey(path, tag)), joinKey(path, tag))
    }
    const out: Record<string, unknown> = {}
    for (const k of keys) {
      const key = k.startsWith('$$') ? k.slice(1) : k
      if (FORBIDDEN_KEYS.includes(key)) {
        fail(joinKey(path, key), 'a key other than __proto__, constructor or prototype', key)
      }
      out[key] = go((v as Record<string, unknown>)[k], joinKey(path, key), depth + 1)
    }
    return out
  }
  return go(json, '', 0)
}
