// Internal (not exported from src/index.ts): multiSteps' running mean of a cycle's gradients,
// m ← m + (g − m)/(n + 1) (optax's, Welford's), as lazy tensors (src/tensor/lazyData.ts) made
// on their first read. A mini-step's mean is read only by the k-th step (or a checkpoint, a
// user): written eagerly it was one fresh array the size of the parameters a mini-step, for V8
// to collect (bench/wholeStep.bench.ts, issue 17). A lazy mean keeps the mean it starts from and
// the gradients after it (the states hold them anyway) and sums them in the same order, each
// term rounded as the eager loop rounds it, so the same bits at any time.

import { leafSourcesOf } from './leaves.js'
import { lazyData, type LazyData } from '../tensor/lazyData.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import type { Params } from '../tree/tree.js'

/** Gradients a lazy mean keeps at most (then it is made): what a kept state pins. */
const MAX_TERMS = 8

/** Leaves shorter than this are summed at once (too small to be worth keeping terms). */
const MIN_LENGTH = 4096

/** The mean of `from` terms, `base`, then the terms `gs` in order; made on the first read. */
class RunningMean implements LazyData {
  private data: Float64Array | undefined = undefined
  constructor(
    readonly length: number,
    private base: Float64Array | null,
    private gs: readonly Float64Array[],
    readonly from: number,
  ) {}

  value(): Float64Array {
    if (this.data === undefined) {
      this.data = meanInto(uninitializedF64(this.length), this.base!, this.gs, this.from)
      this.base = null
      this.gs = []
    }
    return this.data
  }

  /** This mean and one more term `g` (term number `n`, counted from 0). */
  next(g: Float64Array, n: number): RunningMean {
    return this.data === undefined && this.gs.length < MAX_TERMS
      ? new RunningMean(this.length, this.base, [...this.gs, g], this.from)
      : new RunningMean(this.length, this.value(), [g], n)
  }
}

/** o = the mean of `from` terms m, then each g of `gs` added in turn (o may not alias them). */
function meanInto(
  o: Float64Array,
  m: Float64Array,
  gs: readonly Float64Array[],
  from: number,
): Float64Array {
  for (let i = 0; i < o.length; i++) {
    let v = m[i]
    for (let j = 0; j < gs.length; j++) v = v + (gs[j][i] - v) / (from + j + 1)
    o[i] = v
  }
  return o
}

/**
 * The running mean of `n` terms `mean` and one more, `g` (n ≥ 1; a tree of `g`'s structure):
 * long leaves lazy, read `mean`'s leaves left unread.
 */
export function runningMean(fn: string, mean: Params, g: Params, n: number): Params {
  const set = leafSourcesOf(fn, [mean, g], 0)
  const [ms, gs] = set.data as [readonly (Float64Array | LazyData)[], readonly Float64Array[]]
  const outs = ms.map((m, leaf) => {
    const x = gs[leaf]
    if (x.length < MIN_LENGTH) return meanInto(uninitializedF64(x.length), valueOf(m), [x], n)
    return m instanceof RunningMean ? m.next(x, n) : new RunningMean(x.length, valueOf(m), [x], n)
  })
  return set.build(outs)
}

const valueOf = (m: Float64Array | LazyData): Float64Array =>
  m instanceof Float64Array ? m : m.value()

/** Zeros of `g`'s structure whose long leaves are made only when read (a reset mean). */
export function lazyZeros(fn: string, g: Params): Params {
  const set = leafSourcesOf(fn, [g], 0)
  return set.build(
    set.data[0].map((x) =>
      x.length < MIN_LENGTH
        ? new Float64Array(x.length)
        : lazyData(x.length, () => new Float64Array(x.length)),
    ),
  )
}
