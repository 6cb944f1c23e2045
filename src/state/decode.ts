import * as t from 'io-ts'
import { show } from '../errors.js'
import { expectCodec, expectString, expectedKind, keyC } from './codecs.js'
import { describe } from './json.js'

/** Throws unless `errors` is an array of io-ts validation errors (each with its context path). */
function expectErrors(errors: unknown): asserts errors is t.Errors {
  if (!Array.isArray(errors)) {
    throw new TypeError(
      `report: errors: expected an array of io-ts validation errors, got ${show(errors)}`,
    )
  }
  // a for loop, not forEach: a sparse array's holes are errors too
  for (let i = 0; i < errors.length; i++) {
    const e: unknown = errors[i]
    const context = typeof e === 'object' && e !== null ? (e as t.ValidationError).context : null
    let ok = Array.isArray(context)
    for (let k = 0; ok && k < (context as unknown[]).length; k++) {
      const c = (context as unknown[])[k] as t.ContextEntry | null | undefined
      ok =
        typeof c === 'object' &&
        c !== null &&
        typeof c.key === 'string' &&
        typeof c.type === 'object' &&
        c.type !== null &&
        typeof c.type.name === 'string'
    }
    if (!ok) {
      throw new TypeError(
        `report: errors[${i}]: expected an io-ts validation error ({ value, context }), got ${show(e)}`,
      )
    }
  }
}

/**
 * One line per problem: `path: expected <what>, got <value>`. The path joins record keys with
 * `.` and array indices as `[i]`; the root is `(root)` unless a `root` name is given. Values are
 * printed with `String(v)` (NaN stays NaN, −0 is -0), strings quoted, big arrays summarised.
 * Every failure inside one `t.union` collapses into a single line naming the union. With an
 * `argument` name (`options`), the value itself is called by it and its unknown keys are
 * `options.k` (fields keep their own names: `c: …`), as every options-taking function words them.
 *
 * @example
 * ```ts
 * import * as t from 'io-ts'
 * import { report } from 'gradstream'
 *
 * const C = t.type({ lr: t.number })
 * const r = C.decode({ lr: 'x' })
 * if (r._tag === 'Left') console.log(report(r.left)) // → [ 'lr: expected number, got "x"' ]
 * ```
 */
export function report(errors: t.Errors, root = '', argument = ''): string[] {
  expectErrors(errors)
  expectString('report', 'root', root)
  expectString('report', 'argument', argument)
  const lines: string[] = []
  for (const e of errors) {
    const ctx = e.context
    let path = root
    // an unknown key of the argument itself: `options.C`, as every options-taking function words it
    if (argument !== '' && ctx.length === 2 && ctx[1].type === keyC) path = argument
    let expected = ctx.length > 0 ? ctx[ctx.length - 1].type.name : 'a value'
    let got: unknown = e.value
    for (let i = 1; i < ctx.length; i++) {
      const parent = ctx[i - 1].type as t.Any & { _tag?: string }
      if (parent._tag === 'UnionType') {
        // the first union on the way down names the whole problem
        expected = parent.name
        got = ctx[i - 1].actual
        break
      }
      if (parent._tag === 'IntersectionType') continue
      const key = ctx[i].key
      const indexed =
        parent._tag === 'ArrayType' ||
        parent._tag === 'ReadonlyArrayType' ||
        parent._tag === 'TupleType' ||
        (key.startsWith('[') && ctx[i].type !== keyC) // an object's key `[x` is no index
      path = indexed ? `${path}[${key.replace(/^\[|\]$/g, '')}]` : path ? `${path}.${key}` : key
    }
    const line = `${path || argument || '(root)'}: ${e.message ?? `expected ${expected}, got ${describe(got)}`}`
    if (!lines.includes(line)) lines.push(line)
  }
  return lines
}

/**
 * Decodes `value` with an io-ts codec or throws one error listing every problem as
 * `fn: path: expected <what>, got <value>` (one line each). The error is a `RangeError` when
 * the first problem's value has the kind its codec expects (a number out of range, a string not
 * in the list), a `TypeError` otherwise.
 *
 * @example
 * ```ts
 * import { decode, positiveNumber, strictType } from 'gradstream'
 *
 * const AdamOptions = strictType('adam options', { lr: positiveNumber })
 * console.log(decode(AdamOptions, { lr: 0.1 }, 'adam')) // → { lr: 0.1 }
 * try {
 *   decode(AdamOptions, { lr: -0.1 }, 'adam')
 * } catch (e) {
 *   console.log(String(e)) // → RangeError: adam: lr: expected a positive finite number, got -0.1
 * }
 * ```
 * @param root a name for the value itself, prefixed to every path (`step` gives `step.lr: …`)
 * @throws {TypeError|RangeError} one line per problem
 */
export function decode<A, O>(
  codec: t.Type<A, O, unknown>,
  value: unknown,
  fn: string,
  root = '',
): A {
  expectCodec('decode', 'codec', codec)
  expectString('decode', 'fn', fn)
  expectString('decode', 'root', root)
  return decodeAs(codec, value, fn, root, '')
}

/**
 * Validates a public function's options argument when the function is called (never per
 * step), as every options-taking function does (the one path): fields by their own name,
 * the argument by its name when it is not an object, and unknown keys under it.
 *
 * @example
 * ```ts
 * decodeOptions(SpsaOptionsC, { C: 0.1 }, 'spsa')
 * // TypeError: spsa: options.C: expected no such key (known: c, samples, seed), got 0.1
 * decodeOptions(SpsaOptionsC, null, 'spsa')
 * // TypeError: spsa: options: expected an object, got null
 * decodeOptions(SpsaOptionsC, { c: 0 }, 'spsa')
 * // RangeError: spsa: c: expected a positive finite number, got 0
 * ```
 * @param argument the argument's name (`options`, `config`)
 * @throws {TypeError|RangeError} one line per problem, as `decode`
 */
export function decodeOptions<A, O>(
  codec: t.Type<A, O, unknown>,
  value: unknown,
  fn: string,
  argument = 'options',
): A {
  return decodeAs(codec, value, fn, '', argument)
}

function decodeAs<A, O>(
  codec: t.Type<A, O, unknown>,
  value: unknown,
  fn: string,
  root: string,
  argument: string,
): A {
  const result = codec.decode(value)
  if (result._tag === 'Right') return result.right
  const lines = report(result.left, root, argument)
  // the kind of the first problem, as a hand-written check stopping there would throw: a number
  // where a number was expected is out of range, anything else is of the wrong kind
  const first = result.left[0]
  const type = first.context[first.context.length - 1]?.type
  const kind = type !== undefined ? expectedKind.get(type) : undefined
  const expected = /: expected (.*), got /.exec(lines[0])?.[1] ?? ''
  const inRange =
    kind !== undefined
      ? typeof first.value === kind
      : typeof first.value === 'number' && /number|integer/.test(expected)
  const message = lines.map((l) => `${fn}: ${l}`).join('\n')
  throw inRange ? new RangeError(message) : new TypeError(message)
}
