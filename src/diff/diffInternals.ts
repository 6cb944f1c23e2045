import { expectFunction, show } from '../errors.js'
import { DiffOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { isTensor } from '../tensor/tensor.js'
import { assertParams, pathAt, type Params, visit } from '../tree/tree.js'
import type { DiffMethod, DiffOptions, NonFinite } from './diffOptions.js'

/** Validates `opts` (and every field of it) for `fn`, filling in the defaults. */
export function diffOptions(fn: string, opts: DiffOptions | undefined): Required<DiffOptions> {
  if (opts === undefined) return { h: 1e-4, method: 'central', nonFinite: 'throw' }
  decodeOptions(DiffOptionsC, opts, fn, 'opts')
  return {
    h: opts.h ?? 1e-4,
    method: opts.method ?? 'central',
    nonFinite: opts.nonFinite ?? 'throw',
  }
}

/**
 * Returns `v` if it is a finite number (or any number, with `nonFinite: 'propagate'`);
 * otherwise throws, naming the point where `f` was evaluated and the value:
 * `numericalGradient: f returned -Infinity at W[1,2] + h`. A non-number is a TypeError always.
 */
export function checkValue(
  fn: string,
  v: unknown,
  where: () => string,
  nonFinite: NonFinite = 'throw',
): number {
  if (typeof v !== 'number') {
    throw new TypeError(`${fn}: f returned ${show(v)} at ${where()}; expected a number`)
  }
  if (v - v !== 0 && nonFinite === 'throw') nonFiniteValue(fn, v, where())
  return v
}

/** The error for a non-finite value of `f` (never returns). */
export function nonFiniteValue(fn: string, v: number, where: string, output = ''): never {
  throw new RangeError(`${fn}: f returned ${show(v)}${output} at ${where}`)
}

/** Validates the function argument. */
export function checkFunction(fn: string, f: unknown): void {
  expectFunction(fn, 'f', f)
}

/**
 * How a coordinate is named in messages: `W[1,2]` inside a record, `p[0]` for a bare array or
 * tensor, `p` for a bare number.
 */
export function coordinateName(path: string): string {
  if (path === '(root)') return 'p'
  return path.startsWith('[') ? `p${path}` : path
}

/** The name of flat coordinate `i` of tree `p` (only computed when a message needs it). */
export const coordinateAt = (p: Params, i: number): string => coordinateName(pathAt(p, i))

/**
 * Checks that `p` is a parameter tree with finite values, naming the first bad scalar:
 * `numericalGradient: p.W[1,2]: expected a finite number, got NaN`.
 */
export function checkFiniteTree(fn: string, field: string, p: unknown): asserts p is Params {
  assertParams(fn, field, p)
  visit(p, (v, path) => {
    if (!Number.isFinite(v)) {
      const name = coordinateName(path)
      const full =
        name === 'p' ? field : name.startsWith('p[') ? field + name.slice(1) : `${field}.${name}`
      throw new RangeError(`${fn}: ${full}: expected a finite number, got ${show(v)}`)
    }
  })
}

/**
 * A private, mutable copy of a parameter tree that `f` is evaluated on. Tensor leaves are views
 * into one buffer and number leaves live in fresh containers, so setting coordinate `i` costs
 * one store. The caller's tree is never touched; `f` sees exactly one coordinate moved at a time.
 */
export interface Scratch<P extends Params> {
  /** The tree `f` is called with (replaced, not mutated, when `p` is a bare number). */
  readonly tree: P
  /** The current values, in flattening order. */
  readonly values: Float64Array
  readonly size: number
  set(i: number, v: number): void
}

interface NumberSlot {
  readonly obj: Record<string | number, unknown>
  readonly key: string | number
}

export function makeScratch<P extends Params>(fn: string, field: string, p: P): Scratch<P> {
  const size = countScalars(fn, field, p)
  const values = new Float64Array(size)
  // numberSlots[i] is where coordinate i lives when it is a bare number leaf
  let numberSlots = null as (NumberSlot | undefined)[] | null
  let k = 0
  const build = (
    q: Params,
    holder: Record<string | number, unknown> | null,
    key: string | number,
  ): Params => {
    if (typeof q === 'number') {
      values[k] = q
      if (holder !== null) {
        numberSlots ??= new Array(size)
        numberSlots[k] = { obj: holder, key }
      }
      k++
      return q
    }
    if (isTensor(q)) {
      const len = q.data.length
      values.set(q.data, k)
      const view = values.subarray(k, k + len)
      k += len
      return { shape: [...q.shape], data: view }
    }
    if (Array.isArray(q)) {
      const arr: Params[] = new Array(q.length)
      for (let i = 0; i < q.length; i++)
        arr[i] = build(q[i], arr as unknown as Record<number, unknown>, i)
      return arr
    }
    const rec: Record<string, Params> = {}
    for (const name of Object.keys(q).sort())
      rec[name] = build((q as Record<string, Params>)[name], rec, name)
    return rec
  }
  const root = build(p, null, '')
  for (let i = 0; i < size; i++) {
    // the slow walk only runs to name the offending scalar
    if (!Number.isFinite(values[i])) checkFiniteTree(fn, field, p)
  }
  const slots = numberSlots as (NumberSlot | undefined)[] | null
  const rootIsNumber = typeof p === 'number'
  const scratch = {
    tree: root as P,
    values,
    size,
    set(i: number, v: number) {
      values[i] = v
      if (rootIsNumber) scratch.tree = v as P
      else if (slots !== null) {
        const s = slots[i]
        if (s !== undefined) s.obj[s.key] = v
      }
    },
  }
  return scratch
}

/**
 * The number of scalars in `p`, checking on the way that it is a parameter tree (plain records,
 * arrays, tensors, numbers); on anything else `assertParams` throws, naming the path.
 */
function countScalars(fn: string, field: string, p: unknown): number {
  let n = 0
  const go = (q: unknown): boolean => {
    if (typeof q === 'number') {
      n++
      return true
    }
    if (isTensor(q)) {
      n += q.data.length
      return true
    }
    if (Array.isArray(q)) {
      // an index loop, not every(): a hole is a missing value, not a skipped one
      for (let i = 0; i < q.length; i++) if (!go(q[i])) return false
      return true
    }
    if (typeof q !== 'object' || q === null) return false
    const proto = Object.getPrototypeOf(q)
    if (proto !== Object.prototype && proto !== null) return false
    for (const key of Object.keys(q)) if (!go((q as Record<string, unknown>)[key])) return false
    return true
  }
  let ok: boolean
  try {
    ok = go(p)
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new RangeError(
        `${fn}: ${field}: expected a tree, got one nested too deep to walk (cyclic?)`,
      )
    }
    throw e
  }
  if (!ok) assertParams(fn, field, p)
  return n
}

/**
 * ∂f/∂p_i for every coordinate i in `indices` (default all), written to `out[i]`, on `scratch`
 * (which is left as it was found). The book's loop, with the book's arithmetic.
 */
export function gradientInto<P extends Params>(
  fn: string,
  f: (p: P) => number,
  p: P,
  scratch: Scratch<P>,
  h: number,
  method: DiffMethod,
  out: Float64Array,
  indices?: readonly number[],
  nonFinite: NonFinite = 'throw',
): void {
  const { values } = scratch
  const evalAt = (i: number, side: string): number =>
    checkValue(
      fn,
      f(scratch.tree),
      () => (i < 0 ? 'p' : `${coordinateAt(p, i)} ${side}`),
      nonFinite,
    )
  const n = indices === undefined ? scratch.size : indices.length
  if (method === 'central') {
    for (let k = 0; k < n; k++) {
      const i = indices === undefined ? k : indices[k]
      const tmp = values[i]
      scratch.set(i, tmp + h)
      const fxh1 = evalAt(i, '+ h')
      scratch.set(i, tmp - h)
      const fxh2 = evalAt(i, '- h')
      scratch.set(i, tmp)
      out[i] = (fxh1 - fxh2) / (2 * h)
    }
    return
  }
  const f0 = n > 0 ? evalAt(-1, '') : 0
  const sign = method === 'forward' ? 1 : -1
  for (let k = 0; k < n; k++) {
    const i = indices === undefined ? k : indices[k]
    const tmp = values[i]
    scratch.set(i, tmp + sign * h)
    const fx = evalAt(i, sign > 0 ? '+ h' : '- h')
    scratch.set(i, tmp)
    out[i] = sign > 0 ? (fx - f0) / h : (f0 - fx) / h
  }
}
