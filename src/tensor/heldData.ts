// Internal (not exported from src/index.ts): ONE mechanism for an output array left in memory the
// library owns (its home) as lazy data (./lazyData.ts), for the resident pass's θ′ and slots, the
// update's θ + a·u (./keptSums.ts) and multiSteps' running mean. It names its home's version when
// written (bumped by every write there in place, and when the numbers are dropped): read while the
// home holds that version, it is copied out; read later, it is replayed from the inputs it kept,
// to the same bits. Its owner settles (copies out) every K-th step: a replay stays bounded.

import type { LazyData } from './lazyData.js'
import { uninitializedF64 } from './uninitialized.js'

/** An output array in its home until read (see the file's head). */
export abstract class HeldData<H extends { version: number }, K> implements LazyData {
  protected data: Float64Array | undefined = undefined
  /** where copies out and settles are counted (a user's counters, tests and benches) */
  protected abstract readonly reads: { copied: number; settled: number } | null

  constructor(
    readonly length: number,
    readonly home: H,
    private readonly version: number,
    /** what a replay needs (its inputs), until `data` is made */
    protected kept: K | null,
  ) {}

  /** Its numbers where they lie in its home (read only while `lies()`). */
  protected abstract view(): Float64Array
  /** Makes `data` from `kept` (by `fill`): the home holds other numbers now. */
  protected abstract replay(): void

  /** Whether its home still holds its numbers (made or not). */
  lies(): boolean {
    return this.home.version === this.version
  }

  made(): boolean {
    return this.data !== undefined
  }

  value(): Float64Array {
    if (this.data === undefined) {
      if (this.home.version === this.version) this.copyOut('copied')
      else this.replay()
    }
    return this.data!
  }

  copyInto(dst: Float64Array): boolean {
    if (this.data !== undefined) dst.set(this.data)
    else if (this.home.version === this.version) dst.set(this.view())
    else return this.replayInto(dst)
    return true
  }

  /** Its numbers where its home holds them (read them at once), or null. */
  lying(): Float64Array | null {
    return this.home.version === this.version ? this.view() : null
  }

  /** `copyInto` once the home moved on: made here by default; false when it must be made first. */
  protected replayInto(dst: Float64Array): boolean {
    dst.set(this.value())
    return true
  }

  /** Made now from its home, if it still holds them (its owner's every K-th step). */
  settle(): void {
    if (this.data === undefined && this.home.version === this.version) this.copyOut('settled')
  }

  /** Takes `data` (copied out, or computed by a replay) unless it was made already. */
  fill(data: Float64Array): void {
    if (this.data === undefined) this.data = data
    this.kept = null
  }

  private copyOut(kind: 'copied' | 'settled'): void {
    if (this.reads !== null) this.reads[kind]++
    const out = uninitializedF64(this.length)
    out.set(this.view())
    this.fill(out)
  }
}
