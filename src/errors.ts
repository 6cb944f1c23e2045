/**
 * The error vocabulary shared by every public entry: `fn: field: expected <what>, got <value>`.
 * Values are printed with `String(v)` (JSON would turn NaN into null); arrays and shapes as
 * `[2,3]`.
 */

/**
 * A tensor operation received operands whose shapes do not fit together.
 *
 * @example
 * ```ts
 * import { ShapeError, matmul, tensor } from 'gradstream'
 *
 * try {
 *   matmul(tensor([[1, 2, 3]]), tensor([[1], [2]]))
 * } catch (e) {
 *   if (e instanceof ShapeError) console.log(e.message)
 *   // → matmul: shapes [1,3] and [2,1] do not align
 * }
 * ```
 */
export class ShapeError extends Error {
  override name = 'ShapeError'
}

/**
 * Renders a value for an error message: NaN stays NaN, arrays are bracketed, strings quoted,
 * functions as `a function`.
 */
export function show(value: unknown): string {
  return showIn(value, [])
}

/** `show` with the arrays being printed (a cyclic one prints `[…]` where it recurs). */
function showIn(value: unknown, open: unknown[]): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) {
    if (open.includes(value)) return '[…]'
    open.push(value)
    // a long array: its first 20 values (a message is for reading)
    const shown = value.slice(0, 20).map((v: unknown) => showIn(v, open))
    open.pop()
    return `[${shown.join(',')}${value.length > 20 ? ',…' : ''}]`
  }
  if (value instanceof Float64Array) return `Float64Array(${value.length})`
  if (typeof value === 'function') return 'a function' // never its source text
  if (typeof value === 'object' && value !== null) {
    // own `constructor` keys, null prototypes and proxies are not to be trusted for a name
    const proto = Object.getPrototypeOf(value) as { constructor?: unknown } | null
    const name =
      proto !== null && typeof proto.constructor === 'function' ? proto.constructor.name : ''
    return name && name !== 'Object' ? name : 'an object'
  }
  return String(value)
}

/** `[2,3]`: how shapes appear in every message. */
export const showShape = (shape: readonly number[]): string => `[${shape.join(',')}]`

/** Throws `RangeError` unless `value` is a finite number. */
export function expectFinite(fn: string, field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${fn}: ${field}: expected a finite number, got ${show(value)}`)
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`${fn}: ${field}: expected a finite number, got ${show(value)}`)
  }
}

/** Throws unless `value` is a finite number greater than zero. */
export function expectPositive(fn: string, field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${fn}: ${field}: expected a positive finite number, got ${show(value)}`)
  }
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${fn}: ${field}: expected a positive finite number, got ${show(value)}`)
  }
}

/** Throws unless `value` is a finite number ≥ 0. */
export function expectNonNegative(
  fn: string,
  field: string,
  value: unknown,
): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `${fn}: ${field}: expected a non-negative finite number, got ${show(value)}`,
    )
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `${fn}: ${field}: expected a non-negative finite number, got ${show(value)}`,
    )
  }
}

/** Throws unless `value` is an integer in [min, max] (max defaults to MAX_SAFE_INTEGER). */
export function expectInteger(
  fn: string,
  field: string,
  value: unknown,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  const what =
    max === Number.MAX_SAFE_INTEGER
      ? min === 0
        ? 'a non-negative integer'
        : min === 1
          ? 'a positive integer'
          : `an integer ≥ ${min}`
      : `an integer in [${min}, ${max}]`
  if (typeof value !== 'number') {
    throw new TypeError(`${fn}: ${field}: expected ${what}, got ${show(value)}`)
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${fn}: ${field}: expected ${what}, got ${show(value)}`)
  }
}

/**
 * Throws unless `lo ≤ value ≤ hi` (or `lo ≤ value < hi` with `openHigh`), e.g. a momentum β in
 * [0, 1).
 */
export function expectInRange(
  fn: string,
  field: string,
  value: unknown,
  lo: number,
  hi: number,
  openHigh = true,
): asserts value is number {
  const what = `a number in [${lo}, ${hi}${openHigh ? ')' : ']'}`
  if (typeof value !== 'number') {
    throw new TypeError(`${fn}: ${field}: expected ${what}, got ${show(value)}`)
  }
  const ok = value >= lo && (openHigh ? value < hi : value <= hi)
  if (!ok) throw new RangeError(`${fn}: ${field}: expected ${what}, got ${show(value)}`)
}

/** Throws `TypeError` unless `value` is a function. */
export function expectFunction(fn: string, field: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new TypeError(`${fn}: ${field}: expected a function, got ${show(value)}`)
  }
}
