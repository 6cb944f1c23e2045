// Internal (not exported from src/index.ts): tensors whose `data` is made on its first read, for
// a gradient that a step can consume where a kernel left it (the tape's ∂W1 with the SGD
// update, bench/RESULTS.md issue 21 W3): plain W3 then never copies 313 KB out of wasm memory;
// and for a gathered batch (takeRows), whose products read its compressed rows instead.
// Imports nothing (tensor.ts's isTensor asks it), so the shapes are written out here.

/**
 * What a lazy tensor's `data` is made from: its length, and `value()`, which makes it on the
 * first call and returns that same array on every later one. The numbers must not depend on
 * when `value()` is first called (a kept state stays valid forever).
 */
export interface LazyData {
  readonly length: number
  value(): Float64Array
  /**
   * Copies the numbers into `dst` (its first `length`) without making them as `value()` does,
   * where the source still holds them (an optimizer's state in the pass's memory); false when it
   * cannot (then `dst.set(value())`). Optional.
   */
  copyInto?(dst: Float64Array): boolean
  /**
   * A view of the numbers where they lie now (a wasm memory the library owns), for a reader in
   * that memory to read them there at once, without a copy (the next write there may change
   * them); null where they lie nowhere. Optional.
   */
  lying?(): Float64Array | null
  /**
   * Numbers it holds of its own to make its data later (the tape's lazy gradient: δ's copy, or 0
   * where it calls a net's recipe again): a holder that keeps many such may keep them longer the
   * fewer (src/engine/wasmPass.ts' settles). Optional: unknown.
   */
  readonly pins?: number
}

/** The number of elements of a tensor, lazy or not, its data not made by asking. */
export function lengthOf(t: { readonly data: Float64Array }): number {
  const lz = lazyDataOf(t)
  return lz !== undefined ? lz.length : t.data.length
}

/** `make` run once, on the first `value()`; the closure is dropped then (its operands freed). */
export function lazyData(length: number, make: () => Float64Array): LazyData {
  let data: Float64Array | undefined
  let maker: (() => Float64Array) | null = make
  return {
    length,
    value() {
      if (data === undefined) {
        data = maker!()
        maker = null
      }
      return data
    },
  }
}

/**
 * Arrays the library made as a step's result and never writes again (the update's sums):
 * values, as lazy sources are — unlike a caller's buffer, which it may reuse. See `isValue`.
 */
const values = new WeakSet<Float64Array>()

/** Notes `a` as a value (see `values`): made by the library, never written again. */
export function markValue(a: Float64Array): Float64Array {
  values.add(a)
  return a
}

/** Whether `t`'s numbers can never change: a lazy tensor, or data noted by `markValue`. */
export function isValue(t: { readonly data: Float64Array }): boolean {
  return lazyDataOf(t) !== undefined || values.has(t.data)
}

/** The key of a lazy tensor's source: a non-enumerable own property (no copy carries it). */
const LAZY = Symbol('lazyData')

/**
 * A tensor of `shape` whose `data` is `src.value()`, read on demand: an enumerable accessor (as
 * a gathered batch's, src/tensor/gatheredRows.ts), so spreading, cloning, posting, encoding and
 * freezing with immer read the numbers as usual (and their copies are plain tensors). Tensors
 * made over one `src` share its array.
 */
export function lazyTensor(
  shape: readonly number[],
  src: LazyData,
): { readonly shape: readonly number[]; readonly data: Float64Array } {
  // one defineProperty a property: the same object as one defineProperties call, made in a
  // third of the time (V8 11.3; several lazy tensors a training step)
  const t = { shape } as { shape: readonly number[]; data: Float64Array }
  Object.defineProperty(t, 'data', LAZY_DATA)
  return Object.defineProperty(t, LAZY, { value: src })
}

/** One getter for every lazy tensor (a closure per tensor would give each its own hidden class). */
const LAZY_DATA: PropertyDescriptor = {
  enumerable: true,
  get(this: { [LAZY]: LazyData }) {
    return this[LAZY].value()
  },
}

/**
 * The source of a tensor made by `lazyTensor` (its `data` not read by asking), or undefined: a
 * property lookup (isTensor asks it of every tensor it sees).
 */
export function lazyDataOf(t: object): LazyData | undefined {
  return (t as { [LAZY]?: LazyData })[LAZY]
}

/** `x`'s numbers: `x` itself, or a lazy source's copied into `scratch` (made if it cannot). */
export function numbersOf(x: Float64Array | LazyData, scratch: Float64Array): Float64Array {
  if (x instanceof Float64Array) return x
  if (!x.copyInto?.(scratch)) scratch.set(x.value())
  return scratch
}
