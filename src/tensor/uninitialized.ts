// Internal (not exported from src/index.ts): fresh arrays for results their maker fills
// completely before anyone else sees them — a mini-batch's rows, a product copied out of wasm
// memory. On this kind of machine zeroing a fresh 627 KB array costs about as much as filling it.

/** Node's Buffer, where there is one (browsers: none). */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(size: number): Uint8Array } }).Buffer

/** Below this many numbers (64 KB) zeroing is cheap next to the rest: a plain array. */
const MIN_LENGTH = 8192

/**
 * A new Float64Array of `length` whose contents are unspecified (not zeroed) when that is
 * cheaper: on Node, above 64 KB, a `Buffer.allocUnsafeSlow` block of its own (never a pooled
 * slice, so `.buffer` holds this array alone, at offset 0); elsewhere `new Float64Array(length)`.
 * The caller must write every element before the array leaves its hands.
 */
export function uninitializedF64(length: number): Float64Array {
  if (NodeBuffer === undefined || length < MIN_LENGTH) return new Float64Array(length)
  return new Float64Array(NodeBuffer.allocUnsafeSlow(length * 8).buffer, 0, length)
}
