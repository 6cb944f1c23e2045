// Internal (not exported from src/index.ts): lets gradstream's own gradient functions give their
// freshly made buffers to the stage that stores them, so the step does not copy 40,000 numbers
// that nobody else holds. A user's function never carries the mark, so its results are still
// copied (it may reuse its buffers on the next call).

/** Tensors whose `data` their producer made for this one result and keeps no reference to. */
const handedOver = new WeakSet<object>()

/**
 * Marks `t`'s buffer as handed over by its producer: the first consumer that calls `adopt(t)`
 * may keep it instead of copying. For fresh results only (never an input, a parameter or a
 * scratch buffer the producer reuses).
 */
export function handOver<T extends object>(t: T): T {
  handedOver.add(t)
  return t
}

/**
 * True once for a tensor marked by `handOver`: the caller now owns its buffer. The mark is
 * removed, so a second consumer (or the same result passed twice) copies as before.
 */
export function adopt(t: object): boolean {
  return handedOver.delete(t)
}
