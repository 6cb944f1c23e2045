// Internal (not exported from src/index.ts): twoLayerGradient's ∂W1 left where the wasm step
// made it. W3's SGD update sums W1 and ∂W1 in wasm memory (addScaledTwinWasm), so copying ∂W1
// out (313 KB a step into a fresh array: ~31 µs into cold memory, and half of W3's young
// collections, notes/issue-21-s10-gc.md) served nobody but a later reader of `grad.W1.data`.
// That reader now makes it: copied out of memory while memory still holds it (nothing laid out
// since the step), else recomputed from the batch's rows and a copy of δ1 (n×h, 40 KB for W3)
// in the kernel's order, so the same bits at any time (a kept state stays valid forever).
import { xTransposeDelta, type Gathered } from '../tensor/gatheredRows.js'
import { copyKept } from '../tensor/kernels/wasmKernels.js'
import { lazyData, type LazyData } from '../tensor/lazyData.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'

let enabled = true

/**
 * Whether a two-layer wasm step on a gathered batch leaves ∂W1 lazy (default true); returns the
 * previous setting. For tests and benches comparing with the eager copy.
 */
export function setLazyW1(on: boolean): boolean {
  const was = enabled
  enabled = on
  return was
}

/** How many lazy ∂W1s were made so far, by way (for tests and benches). */
export const lazyW1Made = { copied: 0, recomputed: 0 }

/** True when twoLayerGradient should leave ∂W1 lazy. */
export const lazyW1On = (): boolean => enabled

/**
 * ∂W1 = xᵀ·δ1 (d×h) for x the rows `rows.pick` of `rows.cache.source` (n×d) and `D1` (n×h, owned
 * by the result from now on), standing for the numbers twoLayerBackwardWasm leaves in memory
 * when handed the returned object as its token.
 */
export function lazyW1(rows: Gathered, D1: Float64Array, d: number, h: number): LazyData {
  const { pick, cache } = rows
  const src: LazyData = lazyData(d * h, () => {
    const out = uninitializedF64(d * h)
    if (copyKept(src, out)) return (lazyW1Made.copied++, out)
    lazyW1Made.recomputed++
    return xTransposeDelta(cache.source, pick, d, D1, h)
  })
  return src
}
