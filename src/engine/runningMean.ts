// Internal (not exported from src/index.ts): multiSteps' running mean of a cycle's gradients,
// m ← m + (g − m)/(n + 1) (optax's, Welford's; m = g at n = 0). A long leaf's mean is summed in
// place, step by step, in one private accumulator per leaf (`MeanHome`, reused every cycle), the
// gradient taken where it lies (`LazyData.copyInto`: the tape's ∂W stays lazy), and held there
// (src/tensor/heldData.ts): read later, it is summed again from the mean it started from and the
// gradients after it (the states hold them anyway), each term rounded as the eager loop rounds
// it. Eagerly, a mini-step's mean was one fresh array (bench/wholeStep.bench.ts, issue 17).

import { leafSourcesOf } from './leaves.js'
import { HeldData } from '../tensor/heldData.js'
import { lazyData, type LazyData } from '../tensor/lazyData.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import type { Params } from '../tree/tree.js'

/** Gradients a lazy mean keeps at most (then the one before it is copied out): what it pins. */
const MAX_TERMS = 8

/** Leaves shorter than this are summed at once, into fresh arrays (too small to matter). */
const MIN_LENGTH = 4096

type Source = Float64Array | LazyData

/** One leaf's accumulator: the numbers of the mean that `version` names. */
interface Held {
  acc: Float64Array
  /** where a lazy gradient is copied to (not made) */
  scratch: Float64Array
  version: number
}

/** Where a running mean is summed: per leaf, one accumulator (one per multiSteps). */
export type MeanHome = Held[]

/** A new home for running means (its accumulators made at first use). */
export function meanHome(): MeanHome {
  return []
}

/** The mean of `from` terms `base` (none when 0), then the terms `gs`; made on the first read. */
class HeldMean extends HeldData<Held, { base: Source | null; gs: readonly Source[] }> {
  protected readonly reads = null
  constructor(
    length: number,
    held: Held,
    version: number,
    base: Source | null,
    /** the terms after `base`, in order */
    gs: readonly Source[],
    private readonly from: number,
  ) {
    super(length, held, version, { base, gs })
  }

  /**
   * This mean and one more term `x` (term number `n`), which `held` holds at `version`: made
   * before the accumulator moves on (this one may be copied out of it).
   */
  next(x: Source, n: number, held: Held, version: number): HeldMean {
    const k = this.kept
    return k !== null && k.gs.length < MAX_TERMS
      ? new HeldMean(this.length, held, version, k.base, [...k.gs, x], this.from)
      : new HeldMean(this.length, held, version, this.value(), [x], n)
  }

  protected view(): Float64Array {
    return this.home.acc
  }

  protected replay(): void {
    const o = uninitializedF64(this.length)
    this.replayInto(o)
    this.fill(o)
  }

  /** Summed again as the accumulator summed it, term by term over the whole leaf. */
  protected override replayInto(o: Float64Array): boolean {
    const { base, gs } = this.kept!
    const n = this.length
    if (base !== null) o.set(valueOf(base).subarray(0, n))
    for (let j = 0; j < gs.length; j++) addTerm(o, valueOf(gs[j]), this.from + j, n)
    return true
  }
}

/** m ← m + (g − m)/(n + 1) over the first `len` numbers (m ← g at n = 0), in place. */
function addTerm(m: Float64Array, g: Float64Array, n: number, len: number): void {
  if (n === 0) {
    m.set(g.subarray(0, len))
    return
  }
  const d = n + 1
  for (let i = 0; i < len; i++) m[i] = m[i] + (g[i] - m[i]) / d
}

const valueOf = (m: Source): Float64Array => (m instanceof Float64Array ? m : m.value())

/**
 * The running mean of `n` terms `mean` and one more, `g` (`mean` unread at n = 0; trees of
 * `g`'s structure): long leaves summed in `home` and lazy, `mean`'s and `g`'s leaves left
 * unread.
 */
export function runningMean(
  fn: string,
  home: MeanHome,
  mean: Params,
  g: Params,
  n: number,
): Params {
  const set = leafSourcesOf(fn, n === 0 ? [g] : [g, mean], [0, 1])
  const [gs, ms] = set.data
  const outs = gs.map((x, leaf) => {
    const len = x.length
    if (len < MIN_LENGTH) {
      if (n === 0) return valueOf(x)
      const o = uninitializedF64(len)
      o.set(valueOf(ms[leaf]))
      addTerm(o, valueOf(x), n, len)
      return o
    }
    let held = home[leaf]
    if (held === undefined || held.acc.length !== len) {
      const acc = new Float64Array(len)
      held = home[leaf] = { acc, scratch: new Float64Array(len), version: 0 }
    }
    const m = n === 0 ? null : ms[leaf]
    const version = held.version + 1
    const out =
      m instanceof HeldMean
        ? m.next(x, n, held, version)
        : new HeldMean(len, held, version, m, [x], n)
    if (m !== null && !(m instanceof HeldMean && m.home === held && m.lies())) {
      // another mean (resumed, another run's, an old one): into the accumulator first
      if (m instanceof Float64Array) held.acc.set(m)
      else if (!m.copyInto?.(held.acc)) held.acc.set(m.value())
    }
    // this step's gradient where it lies, if it can be copied without being made
    const gx = x instanceof Float64Array ? x : x.copyInto?.(held.scratch) ? held.scratch : x.value()
    addTerm(held.acc, gx, n, len)
    held.version = version
    return out
  })
  return set.build(outs)
}

/**
 * Zeros (or −0s: `zero` −0) of `g`'s structure whose long leaves are made only when read (a
 * reset mean, updates that leave θ as it is).
 */
export function lazyZeros(fn: string, g: Params, zero = 0): Params {
  const zeros = (n: number) =>
    Object.is(zero, 0) ? new Float64Array(n) : new Float64Array(n).fill(zero)
  const set = leafSourcesOf(fn, [g], 0)
  return set.build(
    set.data[0].map((x) =>
      x.length < MIN_LENGTH ? zeros(x.length) : lazyData(x.length, () => zeros(x.length)),
    ),
  )
}
