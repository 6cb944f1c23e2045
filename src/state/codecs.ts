/**
 * io-ts codecs for gradstream's data: the building blocks every public entry validates its
 * configuration with (`positiveNumber`, `strictType`, …), parameter trees, the random
 * generator's state and the whole `TrainState`. Each codec's `name` is the `<what>` of the
 * message `path: expected <what>, got <value>` that `decode` renders; paths use `.key` and
 * `[i]`. Decoded objects are fresh, carry only known keys, and never contain `__proto__`,
 * `constructor` or `prototype` keys; recursion is depth-limited.
 */
import * as t from 'io-ts'
import { show } from '../errors.js'
import type { RngState } from '../random/rng.js'
import type { Tensor } from '../tensor/tensor.js'
import type { Params } from '../tree/tree.js'
import { FORBIDDEN_KEYS, MAX_DEPTH, describe } from './json.js'
import type { StopReason, TrainState } from './types.js'

type Codec<A> = t.Type<A, A, unknown>
const entry = (c: t.Context, key: string, type: t.Decoder<unknown, unknown>, actual: unknown) => [
  ...c,
  { key, type, actual },
]

const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !ArrayBuffer.isView(u)

/**
 * Throws unless `c` is an io-ts codec: anything with a `name`, `is`, `validate` and `decode`, so codecs
 * from the user's own copy of io-ts are welcome too.
 */
export function expectCodec(fn: string, field: string, c: unknown): void {
  const ok =
    typeof c === 'object' &&
    c !== null &&
    typeof (c as t.Any).name === 'string' &&
    typeof (c as t.Any).is === 'function' &&
    typeof (c as t.Any).validate === 'function' &&
    typeof (c as t.Any).decode === 'function'
  if (!ok) throw new TypeError(`${fn}: ${field}: expected an io-ts codec, got ${show(c)}`)
}

/** Throws unless `v` is a string (a codec's name, a function's name in a message). */
export function expectString(fn: string, field: string, v: unknown): asserts v is string {
  if (typeof v !== 'string')
    throw new TypeError(`${fn}: ${field}: expected a string, got ${show(v)}`)
}

/** A codec builder's bounds: numbers (±Infinity allowed, NaN not) with lo ≤ hi. */
function expectBounds(fn: string, lo: unknown, hi: unknown): asserts lo is number {
  for (const [field, v] of [
    ['lo', lo],
    ['hi', hi],
  ] as const) {
    if (typeof v !== 'number')
      throw new TypeError(`${fn}: ${field}: expected a number, got ${show(v)}`)
    if (Number.isNaN(v)) throw new RangeError(`${fn}: ${field}: expected a number, got NaN`)
  }
  if ((hi as number) < (lo as number)) {
    throw new RangeError(`${fn}: hi: expected a number ≥ lo (${show(lo)}), got ${show(hi)}`)
  }
}

/**
 * The JavaScript kind (`typeof`) a leaf codec expects. `decode` throws a `RangeError` when the
 * first bad value has that kind (a number out of range, a string not in the list) and a
 * `TypeError` when it has another.
 */
export const expectedKind = new WeakMap<t.Decoder<unknown, unknown>, string>()

/**
 * A codec accepting values for which `guard` holds, named by what it expects; `kind` is the
 * `typeof` of acceptable values, if they share one (see `expectedKind`).
 *
 * @example
 * ```ts
 * import { decode, strictType, where } from 'gradstream'
 *
 * const isEven = (u: unknown): u is number => Number.isInteger(u) && (u as number) % 2 === 0
 * const Options = strictType('options', { batch: where('an even integer', isEven, 'number') })
 * try {
 *   decode(Options, { batch: 3 }, 'loader')
 * } catch (e) {
 *   console.log(String(e)) // → RangeError: loader: batch: expected an even integer, got 3
 * }
 * ```
 */
export function where<A>(name: string, guard: (u: unknown) => u is A, kind?: string): Codec<A> {
  expectString('where', 'name', name)
  if (typeof guard !== 'function') {
    throw new TypeError(`where: guard: expected a function, got ${show(guard)}`)
  }
  if (kind !== undefined) expectString('where', 'kind', kind)
  const c = new t.Type<A, A, unknown>(
    name,
    guard,
    (u, ctx) => (guard(u) ? t.success(u) : t.failure(u, ctx)),
    (a) => a,
  )
  if (kind !== undefined) expectedKind.set(c, kind)
  return c
}

const num = (name: string, ok: (n: number) => boolean) =>
  where<number>(name, (u): u is number => typeof u === 'number' && ok(u), 'number')

/** Any number, NaN and ±Infinity included. */
export const anyNumber = num('a number', () => true)
/** A finite number. */
export const finiteNumber = num('a finite number', Number.isFinite)
/** A finite number > 0. */
export const positiveNumber = num('a positive finite number', (n) => Number.isFinite(n) && n > 0)
/** A finite number ≥ 0. */
export const nonNegativeNumber = num(
  'a non-negative finite number',
  (n) => Number.isFinite(n) && n >= 0,
)
/** An integer ≥ 0 (safe). */
export const nonNegativeInteger = num(
  'a non-negative integer',
  (n) => Number.isSafeInteger(n) && n >= 0,
)
/** An integer ≥ 1 (safe). */
export const positiveInteger = num('a positive integer', (n) => Number.isSafeInteger(n) && n >= 1)
/** A signed 32-bit integer, as the random generator's state words are. */
export const int32 = num('a 32-bit integer', (n) => Number.isInteger(n) && (n | 0) === n)

/**
 * An integer in [lo, hi].
 *
 * @example
 * ```ts
 * import { decode, integerIn, strictType } from 'gradstream'
 *
 * const Options = strictType('options', { digit: integerIn(0, 9) })
 * console.log(decode(Options, { digit: 7 }, 'show')) // → { digit: 7 }
 * try {
 *   decode(Options, { digit: 10 }, 'show')
 * } catch (e) {
 *   console.log(String(e)) // → RangeError: show: digit: expected an integer in [0, 9], got 10
 * }
 * ```
 */
export function integerIn(lo: number, hi: number): Codec<number> {
  expectBounds('integerIn', lo, hi)
  return num(`an integer in [${lo}, ${hi}]`, (n) => Number.isInteger(n) && n >= lo && n <= hi)
}

/**
 * A number in [lo, hi) (or [lo, hi] with `openHigh = false`), as `expectInRange` words it.
 *
 * @example
 * ```ts
 * import { decode, numberIn, strictType } from 'gradstream'
 *
 * const Options = strictType('options', { beta: numberIn(0, 1) })
 * try {
 *   decode(Options, { beta: 1 }, 'momentum')
 * } catch (e) {
 *   console.log(String(e)) // → RangeError: momentum: beta: expected a number in [0, 1), got 1
 * }
 * ```
 */
export function numberIn(lo: number, hi: number, openHigh = true): Codec<number> {
  expectBounds('numberIn', lo, hi)
  if (typeof openHigh !== 'boolean') {
    throw new TypeError(`numberIn: openHigh: expected a boolean, got ${show(openHigh)}`)
  }
  return num(`a number in [${lo}, ${hi}${openHigh ? ')' : ']'}`, (n) =>
    openHigh ? n >= lo && n < hi : n >= lo && n <= hi,
  )
}

/** A string. */
export const stringC = where('a string', (u): u is string => typeof u === 'string', 'string')
/** A boolean. */
export const booleanC = where('a boolean', (u): u is boolean => typeof u === 'boolean', 'boolean')
/** A function (configs carry objectives and schedules; checkpoints never do). */
export const functionC = where(
  'a function',
  (u): u is (...args: never[]) => unknown => typeof u === 'function',
)

/**
 * One of the given strings: `expected one of "central", "forward", got "centre"`.
 *
 * @example
 * ```ts
 * import { decode, oneOf, strictType } from 'gradstream'
 *
 * const Options = strictType('options', { method: oneOf('central', 'forward') })
 * try {
 *   decode(Options, { method: 'centre' }, 'numericalDiff')
 * } catch (e) {
 *   console.log(String(e))
 *   // → RangeError: numericalDiff: method: expected one of "central", "forward", got "centre"
 * }
 * ```
 */
export function oneOf<const L extends readonly string[]>(...values: L): Codec<L[number]> {
  for (let i = 0; i < values.length; i++) expectString('oneOf', `values[${i}]`, values[i])
  return oneOfNamed(`one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, values)
}

/** `oneOf` with its own wording: `oneOfNamed('"sgd" or "adam"', ['sgd', 'adam'])`. */
export function oneOfNamed<const L extends readonly string[]>(
  name: string,
  values: L,
): Codec<L[number]> {
  expectString('oneOfNamed', 'name', name)
  if (!Array.isArray(values)) {
    throw new TypeError(`oneOfNamed: values: expected an array of strings, got ${show(values)}`)
  }
  for (let i = 0; i < values.length; i++) expectString('oneOfNamed', `values[${i}]`, values[i])
  return where(name, (u): u is L[number] => values.includes(u as string), 'string')
}

/**
 * `c`'s values or null.
 *
 * @example
 * ```ts
 * import { decode, nullable, positiveInteger, strictType } from 'gradstream'
 *
 * const Options = strictType('options', { limit: nullable(positiveInteger) })
 * console.log(decode(Options, { limit: null }, 'run')) // → { limit: null }
 * try {
 *   decode(Options, { limit: 0 }, 'run')
 * } catch (e) {
 *   console.log(String(e)) // → RangeError: run: limit: expected a positive integer or null, got 0
 * }
 * ```
 */
export function nullable<A>(c: Codec<A>, name?: string): Codec<A | null> {
  expectCodec('nullable', 'codec', c)
  if (name !== undefined) expectString('nullable', 'name', name)
  return new t.Type<A | null, A | null, unknown>(
    name ?? `${c.name} or null`,
    (u): u is A | null => u === null || c.is(u),
    (u, ctx) => (u === null ? t.success(null) : c.validate(u, ctx)),
    (a) => a,
  )
}

/**
 * An array whose every element decodes with `item`; errors name the index: `xs[3]: …`.
 *
 * @example
 * ```ts
 * import { arrayOf, decode, finiteNumber, strictType } from 'gradstream'
 *
 * const Options = strictType('options', { boundaries: arrayOf(finiteNumber) })
 * try {
 *   decode(Options, { boundaries: [100, NaN] }, 'piecewise')
 * } catch (e) {
 *   console.log(String(e))
 *   // → RangeError: piecewise: boundaries[1]: expected a finite number, got NaN
 * }
 * ```
 */
export function arrayOf<A>(item: Codec<A>, name?: string): Codec<readonly A[]> {
  expectCodec('arrayOf', 'item', item)
  if (name !== undefined) expectString('arrayOf', 'name', name)
  return new t.Type<readonly A[], readonly A[], unknown>(
    name ?? `an array of ${item.name.replace(/^an? /, '')}s`,
    (u): u is readonly A[] => Array.isArray(u) && u.every(item.is),
    (u, c) => {
      if (!Array.isArray(u)) return t.failure(u, c)
      const errors: t.Errors = []
      const out = new Array<A>(u.length)
      for (let i = 0; i < u.length; i++) {
        const r = item.validate(u[i], entry(c, `[${i}]`, item, u[i]))
        if (r._tag === 'Left') errors.push(...r.left)
        else out[i] = r.right
      }
      return errors.length > 0 ? t.failures(errors) : t.success(out)
    },
    (a) => a,
  )
}

/**
 * A record with any keys (except `__proto__`, `constructor`, `prototype`) and `value`'s values.
 *
 * @example
 * ```ts
 * import { decode, positiveNumber, recordOf, strictType } from 'gradstream'
 *
 * const Options = strictType('options', { lr: recordOf(positiveNumber) })
 * console.log(decode(Options, { lr: { W: 0.1, b: 0.01 } }, 'perLayer'))
 * // → { lr: { W: 0.1, b: 0.01 } }
 * try {
 *   decode(Options, { lr: { W: -1 } }, 'perLayer')
 * } catch (e) {
 *   console.log(String(e))
 *   // → RangeError: perLayer: lr.W: expected a positive finite number, got -1
 * }
 * ```
 */
export function recordOf<A>(value: Codec<A>, name?: string): Codec<{ readonly [k: string]: A }> {
  expectCodec('recordOf', 'value', value)
  if (name !== undefined) expectString('recordOf', 'name', name)
  return new t.Type<{ readonly [k: string]: A }, { readonly [k: string]: A }, unknown>(
    name ?? `a record of ${value.name.replace(/^an? /, '')}s`,
    (u): u is { readonly [k: string]: A } =>
      isObject(u) && Object.keys(u).every((k) => !FORBIDDEN_KEYS.includes(k) && value.is(u[k])),
    (u, c) => {
      if (!isObject(u)) return t.failure(u, c)
      const errors: t.Errors = []
      const out: Record<string, A> = {}
      for (const k of Object.keys(u)) {
        if (FORBIDDEN_KEYS.includes(k)) {
          errors.push(forbiddenKey(c, k, u[k]))
          continue
        }
        const r = value.validate(u[k], entry(c, k, value, u[k]))
        if (r._tag === 'Left') errors.push(...r.left)
        else out[k] = r.right
      }
      return errors.length > 0 ? t.failures(errors) : t.success(out)
    },
    (a) => a,
  )
}

/**
 * The codec a key error (an unknown or forbidden key) is reported under: `report` recognises it
 * (a top-level unknown key of a function's options is `options.k`, see `decodeOptions`),
 * and `decode` always throws a `TypeError` for it, whatever the key's value.
 */
export const keyC = where('a known key', (u): u is never => false)
expectedKind.set(keyC, 'no value has this kind')

function forbiddenKey(c: t.Context, k: string, v: unknown): t.ValidationError {
  return {
    value: v,
    context: entry(c, k, keyC, v),
    message: `expected a key other than __proto__, constructor or prototype, got ${JSON.stringify(k)}`,
  }
}

type Props = { readonly [k: string]: Codec<any> }

/** Throws unless `fields` is an object of codecs. */
function expectFields(fn: string, field: string, fields: unknown): void {
  if (!isObject(fields)) {
    throw new TypeError(`${fn}: ${field}: expected an object of codecs, got ${show(fields)}`)
  }
  for (const k of Object.keys(fields)) expectCodec(fn, `${field}.${k}`, fields[k])
}
type Decoded<P extends Props, O extends Props> = { readonly [K in keyof P]: t.TypeOf<P[K]> } & {
  readonly [K in keyof O]?: t.TypeOf<O[K]>
}

/**
 * An object with exactly the listed fields: `required` must be present, `optional` may be
 * absent (or undefined), and any other key is an error naming the known ones, so a typo such as
 * `lrr` is caught: `lrr: expected no such key (known: lr, beta1), got 0.1`. With
 * `{ passthrough: true }` unknown keys are kept instead (TrainState does this, so stages may
 * add fields).
 *
 * @example
 * ```ts
 * import { decode, positiveNumber, strictType } from 'gradstream'
 *
 * const Options = strictType('adam options', { lr: positiveNumber }, { eps: positiveNumber })
 * try {
 *   decode(Options, { lr: 0.1, epss: 1 }, 'adam')
 * } catch (e) {
 *   console.log(String(e)) // → TypeError: adam: epss: expected no such key (known: lr, eps), got 1
 * }
 * ```
 */
export function strictType<P extends Props, O extends Props = {}>(
  name: string,
  required: P,
  optional: O = {} as O,
  options: { passthrough?: boolean } = {},
): Codec<Decoded<P, O>> {
  expectString('strictType', 'name', name)
  expectFields('strictType', 'required', required)
  expectFields('strictType', 'optional', optional)
  if (!isObject(options)) {
    throw new TypeError(`strictType: options: expected an object, got ${show(options)}`)
  }
  const { passthrough = false } = options
  if (typeof passthrough !== 'boolean') {
    throw new TypeError(`strictType: passthrough: expected a boolean, got ${show(passthrough)}`)
  }
  return fieldsType(name, required, optional, { passthrough }, [
    ...Object.keys(required),
    ...Object.keys(optional),
  ])
}

/** A field `configType` may omit (or set to undefined, which means its default). */
export interface Optional<A> {
  readonly optional: Codec<A>
}

/** Marks a `configType` field as optional. */
export const optional = <A>(c: Codec<A>): Optional<A> => ({ optional: c })

type Fields = { readonly [k: string]: Codec<any> | Optional<any> }
type FieldsDecoded<F extends Fields> = {
  readonly [K in keyof F as F[K] extends Optional<any> ? never : K]: F[K] extends Codec<infer A>
    ? A
    : never
} & {
  readonly [K in keyof F as F[K] extends Optional<any> ? K : never]?: F[K] extends Optional<infer A>
    ? A
    : never
}

/**
 * `strictType` with the fields in one list, checked in the order written (so the first line of
 * a message names the same field a hand-written check would): wrap optional ones in
 * `optional(…)`.
 *
 * @example
 * ```ts
 * const CosineDecayOptions = configType('cosineDecay options', {
 *   init: nonNegativeNumber,
 *   steps: positiveInteger,
 *   alpha: optional(numberIn(0, 1, false)),
 * })
 * ```
 */
export function configType<F extends Fields>(name: string, fields: F): Codec<FieldsDecoded<F>> {
  const required: Record<string, Codec<any>> = {}
  const opt: Record<string, Codec<any>> = {}
  for (const [k, c] of Object.entries(fields)) {
    if ('optional' in c && !(c instanceof t.Type)) opt[k] = c.optional
    else required[k] = c as Codec<any>
  }
  return fieldsType(name, required, opt, { object: 'an object' }, Object.keys(fields)) as Codec<
    FieldsDecoded<F>
  >
}

function fieldsType<P extends Props, O extends Props>(
  name: string,
  required: P,
  optional: O,
  { passthrough = false, object }: { passthrough?: boolean; object?: string },
  known: readonly string[],
): Codec<Decoded<P, O>> {
  const validate = (u: unknown, c: t.Context): t.Validation<Decoded<P, O>> => {
    // a config that is not an object: `options: expected an object, got null` (decodeOptions)
    if (!isObject(u)) {
      return object === undefined
        ? t.failure(u, c)
        : t.failure(u, c, `expected ${object}, got ${describe(u)}`)
    }
    const errors: t.Errors = []
    const out: Record<string, unknown> = {}
    for (const k of known) {
      const codec = required[k] ?? optional[k]
      const v = Object.hasOwn(u, k) ? u[k] : undefined
      if (v === undefined && !(k in required)) continue
      const r = codec.validate(v, entry(c, k, codec, v))
      if (r._tag === 'Left') errors.push(...r.left)
      else out[k] = r.right
    }
    for (const k of Object.keys(u)) {
      if (known.includes(k)) continue
      if (FORBIDDEN_KEYS.includes(k)) errors.push(forbiddenKey(c, k, u[k]))
      else if (passthrough) out[k] = u[k]
      else {
        errors.push({
          value: u[k],
          context: entry(c, k, keyC, u[k]),
          message: `expected no such key (known: ${known.join(', ')}), got ${describe(u[k])}`,
        })
      }
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out as Decoded<P, O>)
  }
  return new t.Type<Decoded<P, O>, Decoded<P, O>, unknown>(
    name,
    (u): u is Decoded<P, O> => validate(u, [])._tag === 'Right',
    validate,
    (a) => a,
  )
}

// ---- parameter trees ---------------------------------------------------------------------------

const shapeName = 'a shape (an array of non-negative integers)'

function validateTensor(u: Record<string, unknown>, c: t.Context): t.Validation<Tensor> {
  const extra = Object.keys(u).filter((k) => k !== 'shape' && k !== 'data')
  if (extra.length > 0) {
    return t.failure(
      u,
      c,
      `expected a tensor with only the keys shape and data, got the keys ${Object.keys(u).join(', ')}`,
    )
  }
  const { shape, data } = u as { shape: unknown; data: Float64Array }
  if (!Array.isArray(shape))
    return t.failure(
      shape,
      entry(c, 'shape', TensorC, shape),
      `expected ${shapeName}, got ${describe(shape)}`,
    )
  let n = 1
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return t.failure(d, entry(entry(c, 'shape', TensorC, shape), `[${i}]`, nonNegativeInteger, d))
    }
    n *= d
  }
  if (n !== data.length) {
    return t.failure(
      data,
      entry(c, 'data', TensorC, data),
      `expected ${n} values for shape [${shape.join(',')}], got ${data.length}`,
    )
  }
  return t.success({ shape: [...shape] as number[], data })
}

/**
 * A tensor in memory: `{ shape, data }` with `data` a Float64Array holding `∏shape` values.
 * (In a checkpoint `data` is `{"$f64le": base64}`; `fromJson` turns that into the Float64Array.)
 */
export const TensorC: Codec<Tensor> = new t.Type<Tensor, Tensor, unknown>(
  'a tensor {shape, data: Float64Array}',
  (u): u is Tensor => isObject(u) && validateTensor(u, [])._tag === 'Right',
  (u, c) =>
    isObject(u) && (u as { data?: unknown }).data instanceof Float64Array
      ? validateTensor(u, c)
      : t.failure(u, c),
  (a) => a,
)

const paramsName = 'a number, a tensor, an array or a record'

function validateParams(u: unknown, c: t.Context, depth: number): t.Validation<Params> {
  if (depth > MAX_DEPTH) {
    return t.failure(u, c, `expected at most ${MAX_DEPTH} levels of nesting, got a deeper tree`)
  }
  if (typeof u === 'number') return t.success(u)
  if (Array.isArray(u)) {
    const errors: t.Errors = []
    const out = new Array<Params>(u.length)
    for (let i = 0; i < u.length; i++) {
      const r = validateParams(u[i], entry(c, `[${i}]`, ParamsC, u[i]), depth + 1)
      if (r._tag === 'Left') errors.push(...r.left)
      else out[i] = r.right
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out)
  }
  if (isObject(u)) {
    if (u.data instanceof Float64Array) return validateTensor(u, c)
    const errors: t.Errors = []
    const out: Record<string, Params> = {}
    for (const k of Object.keys(u)) {
      if (FORBIDDEN_KEYS.includes(k)) {
        errors.push(forbiddenKey(c, k, u[k]))
        continue
      }
      const r = validateParams(u[k], entry(c, k, ParamsC, u[k]), depth + 1)
      if (r._tag === 'Left') errors.push(...r.left)
      else out[k] = r.right
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out)
  }
  return t.failure(u, c)
}

/**
 * A parameter tree: a number (any double), a tensor, or arrays / records of trees. Errors name
 * the leaf: `params.W.shape[1]: expected a non-negative integer, got -1`.
 */
export const ParamsC: Codec<Params> = new t.Type<Params, Params, unknown>(
  paramsName,
  (u): u is Params => validateParams(u, [], 0)._tag === 'Right',
  (u, c) => validateParams(u, c, 0),
  (a) => a,
)

/**
 * Plain data as `toJson` can write it: numbers, strings, booleans, null, typed arrays, arrays
 * and plain records (depth-limited, no forbidden keys). Optimizer slots are plain data.
 */
export const PlainDataC: Codec<unknown> = new t.Type<unknown, unknown, unknown>(
  'plain data',
  (u): u is unknown => validatePlain(u, [], 0)._tag === 'Right',
  (u, c) => validatePlain(u, c, 0),
  (a) => a,
)

function validatePlain(u: unknown, c: t.Context, depth: number): t.Validation<unknown> {
  if (depth > MAX_DEPTH) {
    return t.failure(u, c, `expected at most ${MAX_DEPTH} levels of nesting, got a deeper value`)
  }
  if (
    typeof u === 'number' ||
    typeof u === 'string' ||
    typeof u === 'boolean' ||
    u === null ||
    u instanceof Float64Array ||
    u instanceof Int32Array ||
    u instanceof Uint32Array ||
    u instanceof Uint8Array
  ) {
    return t.success(u)
  }
  if (Array.isArray(u)) {
    const errors: t.Errors = []
    const out = new Array<unknown>(u.length)
    for (let i = 0; i < u.length; i++) {
      const r = validatePlain(u[i], entry(c, `[${i}]`, PlainDataC, u[i]), depth + 1)
      if (r._tag === 'Left') errors.push(...r.left)
      else out[i] = r.right
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out)
  }
  if (isObject(u)) {
    const proto = Object.getPrototypeOf(u)
    if (proto !== null && proto !== Object.prototype) return t.failure(u, c)
    const errors: t.Errors = []
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(u)) {
      if (FORBIDDEN_KEYS.includes(k)) {
        errors.push(forbiddenKey(c, k, u[k]))
        continue
      }
      if (u[k] === undefined) continue
      const r = validatePlain(u[k], entry(c, k, PlainDataC, u[k]), depth + 1)
      if (r._tag === 'Left') errors.push(...r.left)
      else out[k] = r.right
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out)
  }
  return t.failure(u, c)
}

// ---- random generator, stop reason, TrainState -------------------------------------------------

const WordsC = new t.Type<readonly number[], readonly number[], unknown>(
  'four 32-bit integers, not all zero',
  (u): u is readonly number[] =>
    Array.isArray(u) && u.length === 4 && u.every(int32.is) && u.some((w) => w !== 0),
  (u, c) =>
    Array.isArray(u) && u.length === 4 && u.every(int32.is) && u.some((w) => w !== 0)
      ? t.success([...u] as number[])
      : t.failure(u, c),
  (a) => a,
)

/** The state of gradstream's xoroshiro128+ generator, as `rng(seed).state()` returns it. */
export const RngStateC: Codec<RngState> = strictType('a random generator state {words, spare}', {
  words: WordsC,
  spare: nullable(finiteNumber),
})

/** `{ rule, …details }`, as stopping rules record it. */
export const StopReasonC: Codec<StopReason> = strictType(
  'a stop reason {rule, …}',
  { rule: stringC },
  {},
  { passthrough: true },
) as Codec<StopReason>

/** The codec of each TrainState field (the same list, in the same order, as src/engine/state.ts builds). */
export const trainStateFieldCodecs = {
  step: nonNegativeInteger,
  params: ParamsC,
  loss: anyNumber,
  grad: nullable(ParamsC, 'a parameter tree or null'),
  lr: anyNumber,
  opt: recordOf(PlainDataC, 'a record of optimizer slots'),
  hyper: recordOf(anyNumber, 'a record of numbers'),
  evaluations: nonNegativeInteger,
  rng: RngStateC,
  history: arrayOf(anyNumber, 'an array of numbers'),
  metrics: recordOf(anyNumber, 'a record of numbers'),
}

const TrainStateFields = strictType(
  'a training state',
  trainStateFieldCodecs,
  { stopReason: StopReasonC },
  { passthrough: true },
)

/**
 * A whole `TrainState`: every contract field checked (a gradient must have its parameters'
 * structure), unknown fields kept as plain data so later stages may add their own.
 */
export const TrainStateC: Codec<TrainState> = new t.Type<TrainState, TrainState, unknown>(
  TrainStateFields.name,
  (u): u is TrainState => TrainStateC.validate(u, [])._tag === 'Right',
  (u, c) => {
    const r = TrainStateFields.validate(u, c)
    if (r._tag === 'Left') return r
    const s = r.right as Record<string, unknown>
    const errors: t.Errors = []
    for (const k of Object.keys(s)) {
      if (Object.hasOwn(trainStateFieldCodecs, k) || k === 'stopReason') continue
      const p = PlainDataC.validate(s[k], entry(c, k, PlainDataC, s[k]))
      if (p._tag === 'Left') errors.push(...p.left)
    }
    const { params, grad } = r.right
    if (grad !== null) {
      const why = sameStructure(params, grad, '')
      if (why !== null) {
        errors.push({
          value: grad,
          context: entry(c, 'grad', ParamsC, grad),
          message: `expected the structure of params, got ${why}`,
        })
      }
    }
    return errors.length > 0 ? t.failures(errors) : t.success(r.right as unknown as TrainState)
  },
  (a) => a,
)

const kind = (p: Params) =>
  typeof p === 'number'
    ? 'number'
    : p && (p as Tensor).data instanceof Float64Array
      ? 'tensor'
      : Array.isArray(p)
        ? 'array'
        : 'record'

/** null if `a` and `b` have the same structure, otherwise where and how they differ. */
function sameStructure(a: Params, b: Params, path: string): string | null {
  const ka = kind(a)
  const kb = kind(b)
  const at = path || '(root)'
  const an = (k: string) => (k === 'array' ? 'an array' : `a ${k}`)
  if (ka !== kb) return `${an(kb)} at ${at} where params has ${an(ka)}`
  if (ka === 'tensor') {
    const sa = (a as Tensor).shape
    const sb = (b as Tensor).shape
    return sa.length === sb.length && sa.every((d, i) => d === sb[i])
      ? null
      : `shape [${sb.join(',')}] at ${at} where params has [${sa.join(',')}]`
  }
  if (ka === 'array') {
    const xa = a as readonly Params[]
    const xb = b as readonly Params[]
    if (xa.length !== xb.length) return `length ${xb.length} at ${at} where params has ${xa.length}`
    for (let i = 0; i < xa.length; i++) {
      const w = sameStructure(xa[i], xb[i], `${path}[${i}]`)
      if (w !== null) return w
    }
    return null
  }
  if (ka === 'record') {
    const ra = a as Record<string, Params>
    const rb = b as Record<string, Params>
    const keysA = Object.keys(ra).sort()
    const keysB = Object.keys(rb).sort()
    if (keysA.join('\u0000') !== keysB.join('\u0000')) {
      return `keys ${keysB.join(', ') || '(none)'} at ${at} where params has ${keysA.join(', ') || '(none)'}`
    }
    for (const k of keysA) {
      const w = sameStructure(ra[k], rb[k], path ? `${path}.${k}` : k)
      if (w !== null) return w
    }
  }
  return null
}
