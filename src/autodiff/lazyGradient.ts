// Internal (not exported from src/index.ts): a parameter's gradient left in the tape's arena
// where its product wrote it — ∂W = xᵀ·δ, x a batch drawn as compressed rows (W3's ∂W1, for
// twoLayerNet and mlp alike), and in a net's recipe a large ∂W = hᵀ·δ of a hidden layer (W5's
// ∂W2). The SGD update right after the call sums W + a·∂W there (addScaledTwinWasm, W's copy in
// the arena too: TapeMemory.placed), an optimizer's pass reads it there, so the step neither
// makes a fresh array for ∂W nor copies W and ∂W back in. A reader of its `data` gets the same
// numbers at any time: copied from the arena while the call runs or while memory still holds
// them (nothing laid out since), else made anew — by calling a net's recipe again on the same
// parameters and batch (`pureValueAndGrad`), or (xᵀ·δ only) from the batch's rows and a copy of
// δ in the kernel's order (a kept state stays valid forever).
import { xTransposeDelta, type Gathered } from '../tensor/gatheredRows.js'
import { copyKept, finiteView, keptView } from '../tensor/kernels/wasmKernels.js'
import { type LazyData, lazyData, lazyTensor } from '../tensor/lazyData.js'
import type { Tensor } from '../tensor/tensor.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import type { TapeMemory } from './tapeMemory.js'

let enabled = true

/**
 * Calls after one whose lazy gradient was read (an optimizer that reads it, Adam's pass, a
 * clipping transform) that make theirs eagerly: the copy of δ would be spent for nothing.
 */
const EAGER_AFTER_READ = 64

/**
 * Whether the tape leaves such gradients lazy (default true); returns the previous setting. For
 * tests and benches comparing with the eager copy.
 */
export function setLazyGradients(on: boolean): boolean {
  const was = enabled
  enabled = on
  return was
}

/**
 * Lazy gradients made so far, how their data was made when read (recomputed: from δ's copy or
 * by calling again), and those that kept a copy of δ (tests, benches).
 */
export const lazyGradients = { made: 0, inCall: 0, copied: 0, recomputed: 0, keptDelta: 0 }

/**
 * ∂W = xᵀ·δ (k×n) in `out`, a buffer of the running call on `memory`, as a lazy tensor — for x
 * the rows `rows` (m of them, k wide) and δ (m×n) — or null where it cannot stay there: lazy
 * gradients off, `out` or δ outside the arena, δ not all finite (the
 * held product then summed densely: the rows' recomputation would skip 0·±∞), or the call
 * already leaving one (a second is most often the same W's second product of the batch, its
 * contributions summed in the call), or one of the last calls' lazy gradients read
 * (`EAGER_AFTER_READ`).
 */
export function lazyGradient(
  memory: TapeMemory,
  rows: Gathered,
  delta: Float64Array,
  out: Float64Array,
  k: number,
  m: number,
  n: number,
  /** the parameter's tape node */
  leaf: object,
): Tensor | null {
  if (!enabled || out.length !== k * n || delta.length < m * n || memory.leftRows) return null
  if (memory.calls - memory.lazyReadAt < EAGER_AFTER_READ) return null
  if (!finiteView(delta.length === m * n ? delta : delta.subarray(0, m * n))) return null
  const { pick, cache } = rows
  // a late reader's numbers: the call made anew (a library recipe: `pureValueAndGrad`), else
  // from δ's numbers owned by the result (n×m: 40 KB for W3)
  const again = memory.again?.(leaf) ?? null
  let D: Float64Array | null = null
  if (again === null) {
    D = memory.fresh(m * n, false)
    D.set(delta.length === m * n ? delta : delta.subarray(0, m * n))
    lazyGradients.keptDelta++
  }
  const g = keptGradient(
    memory,
    out,
    k,
    n,
    again ?? (() => xTransposeDelta(cache.source, pick, k, D!, n)),
    D?.length ?? 0,
  )
  memory.leftRows = g !== null
  return g
}

/**
 * How a late reader of parameter `leaf`'s gradient in the running call gets its numbers when
 * the tape leaves it in its arena: by calling the net's recipe again (`pureValueAndGrad`); null
 * where it cannot stay there so (lazy gradients off, no recipe to call, one of the last calls'
 * lazy gradients read: `EAGER_AFTER_READ`). For a gradient made of no batch's rows (∂W2 = h1ᵀ·δ2),
 * asked before the product is made: where it is null, the product goes to a fresh array.
 */
export function remadeBy(memory: TapeMemory, leaf: object): (() => Float64Array) | null {
  if (!enabled || memory.calls - memory.lazyReadAt < EAGER_AFTER_READ) return null
  return memory.again?.(leaf) ?? null
}

/**
 * The gradient in `out` (k×n, a buffer of the running call on `memory`) left there, as a lazy
 * tensor whose numbers a late reader gets from `remake`; null where `out` lies outside the arena.
 */
export function keptGradient(
  memory: TapeMemory,
  out: Float64Array,
  k: number,
  n: number,
  remake: () => Float64Array,
  /** numbers `remake` holds of its own (LazyData.pins) */
  pins = 0,
): Tensor | null {
  const call = memory.calls
  const made = lazyData(k * n, () => {
    memory.lazyReadAt = call
    const g = uninitializedF64(k * n)
    if (memory.busy && memory.calls === call) {
      // the call still runs: its buffer holds the numbers
      lazyGradients.inCall++
      g.set(out)
      return g
    }
    if (copyKept(src, g)) return (lazyGradients.copied++, g)
    lazyGradients.recomputed++
    return remake()
  })
  // copied where memory still holds it without making it (an optimizer's pass copying it into
  // its own memory): not a read, so the next calls' gradients stay lazy
  // methods, not arrows: tsx names each arrow a property binds as it is made (valueAndGrad.ts'
  // Walk)
  const src: LazyData = {
    length: k * n,
    pins,
    value() {
      return made.value()
    },
    copyInto(dst) {
      return memory.busy && memory.calls === call ? (dst.set(out), true) : copyKept(src, dst)
    },
    // where the kernel left it (an optimizer's pass in that memory reads it there)
    lying() {
      return memory.busy && memory.calls === call ? out : keptView(src)
    },
  }
  if (!memory.keep(src, out)) return null
  lazyGradients.made++
  return lazyTensor([k, n], src) as Tensor
}
