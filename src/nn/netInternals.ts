// Internal (not exported from src/index.ts): what the nets' tape recipes share.
import type { Var } from '../autodiff/tape.js'
import { TapeMemory, withTapeMemory } from '../autodiff/tapeMemory.js'
import { withRightOperand } from '../tensor/kernels/gemmKernel.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'

/** Rows of a data set `logitsInBlocks` runs at a time. */
export const BLOCK_ROWS = 256

/**
 * The logits `forward(p, x).value` of many rows x [m, k] (a test set), a block of BLOCK_ROWS rows
 * at a time on buffers reused from block to block (tapeMemory.ts: from the second block on, in
 * the kernels' arena) instead of intermediates the size of the data set, each page of them
 * touched once: a row's logits depend on that row alone, so the bits are those of one pass over
 * all rows. `p.W1`, the right operand of every block's x·W1, goes into wasm memory once for
 * them all. Null when a block throws: the caller runs the whole pass, for its error message.
 */
export function logitsInBlocks<P extends { readonly [name: string]: Var | Tensor }>(
  memory: TapeMemory,
  forward: (p: P, x: Tensor) => Var,
  p: P,
  x: Tensor,
): Tensor | null {
  const [m, k] = x.shape
  let out: Float64Array | null = null
  let n = 0
  const blocks = () => {
    for (let r0 = 0; r0 < m; r0 += BLOCK_ROWS) {
      const r1 = Math.min(m, r0 + BLOCK_ROWS)
      const rows = { shape: [r1 - r0, k], data: x.data.subarray(r0 * k, r1 * k) }
      const y = withTapeMemory(memory, () => forward(p, rows).value)
      if (out === null) {
        n = y.shape[1]
        out = new Float64Array(m * n)
      }
      out.set(y.data, r0 * n)
    }
  }
  try {
    const W1 = p.W1
    if (isTensor(W1) && W1.shape.length === 2 && W1.shape[0] === k) {
      withRightOperand(W1.data, k, W1.shape[1], blocks)
    } else blocks()
  } catch {
    return null
  }
  return { shape: [m, n], data: out! }
}
