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

/** the largest block whose release still moves the threshold (≤ 32 MiB with malloc's header) */
const PRIMING_BYTES = (1 << 25) - (1 << 16)

/**
 * Every step writes its new parameters and slots into fresh arrays (a kept state stays valid),
 * so what a fresh array costs is what a step costs. glibc's malloc serves a block above its mmap
 * threshold (128 KB at start) with a new mapping and unmaps it when freed: each fresh 1.9 MB array
 * then page-faults on its first write, 4 KB at a time, and a pass writing three of them (Adam)
 * ran about three times as long as the same loop in place. The threshold rises to the size of
 * the largest mapped block freed so far (up to 32 MB), and the heap's trim threshold to twice it
 * (mallopt(3), "dynamic mmap threshold"). So one block just under 32 MB, taken and dropped, raises
 * both for the process when a collection frees it: blocks up to 32 MB then come from the heap,
 * which keeps up to 64 MB of freed memory for the next steps. Half that (a 16 MB block) was not
 * enough: V8 frees the old generation's arrays at a full collection, often more than 32 MB at
 * once, glibc gave that back to the system and the next steps page-faulted it in again
 * (bench/RESULTS.md, issue 17, session 7).
 *
 * The block is taken when this module loads, not at the first large array: it raises the
 * threshold only once a collection has freed it, and every large array made before that is a
 * mapping of its own, faulted in page by page and unmapped, while the heap that serves the later
 * steps still has to be faulted in. Taken at load, it is freed by the collections of whatever
 * runs before the training (loading the data), so a run's first steps already use the heap.
 * Never written, it costs no page. Elsewhere (musl, macOS) it is one short-lived allocation.
 * bench/adamPass.bench.ts and bench/firstSteps.ts (a run's first steps) measure the effect.
 */
if (NodeBuffer !== undefined) NodeBuffer.allocUnsafeSlow(PRIMING_BYTES)
