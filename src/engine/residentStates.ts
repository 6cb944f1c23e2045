// Internal (not exported from src/index.ts): the new θ and slot arrays of a step the resident
// pass ran (src/engine/wasmPass.ts `residentPass`), as lazy tensors (src/tensor/lazyData.ts)
// that stay in the pass's memory until someone reads them. Each names where it lies and which
// step of that residence wrote it (`version`). Read while the residence still holds that version
// (no later step ran there in place, the memory was not taken over), it is copied out; read
// later, the step is replayed: the same rule run by the JavaScript loop (src/engine/pass.ts) over
// the step's inputs — each is either an array or a lazy output of the step before (replayed in
// turn) — its g, its constants and its `a`, all kept here. The kernel equals the JavaScript loop
// bit for bit (it is compiled from the rule's own source), so a replay gives the numbers the
// eager path gives. The pass copies every K-th step out for real (`settle`), and a residence's
// last step before its memory is taken over or dropped: a replay runs at most K steps, and a
// kept state pins at most K gradients of its leaf (and one materialized step's arrays).

import type { LazyData } from '../tensor/lazyData.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import { constantKeys, type LeafSlots, type Member, passLoop } from './pass.js'

/** Where a residence's arrays lie, and which of its steps they hold now. */
export interface Home {
  /** bumped by every step run there in place, and when the numbers are dropped */
  version: number
  /** the memory's numbers now (a view made anew when it grew) */
  view(): Float64Array
}

/** A step the resident pass ran in place: what a replay needs. */
export interface PassStep {
  readonly members: readonly Member[]
  readonly trees: readonly (readonly string[])[]
  /** per region: θ (0), unused (1: g), then per member with a rule, per tree field */
  readonly ins: (Float64Array | ResidentData | null)[]
  /** its g (a lazy one, the tape's gradient, made if a replay needs it) */
  readonly g: Float64Array | LazyData
  /** the constants the kernel read, per member (copies: the step's own are refilled) */
  readonly k: readonly unknown[]
  readonly a: number
  readonly len: number
  /** the step's outputs, per region as `ins` */
  readonly outs: (ResidentData | null)[]
}

/** Materializations, by kind (tests and benches). */
export const residentReads = { copied: 0, replayed: 0, settled: 0 }

/** One output array of a resident step (θ′ or a slot field), made on its first read. */
export class ResidentData implements LazyData {
  private data: Float64Array | undefined = undefined
  /** the step that wrote it, until `data` is made */
  step: PassStep | null

  constructor(
    readonly length: number,
    private readonly home: Home,
    private readonly version: number,
    /** its first number's index in `home.view()` */
    private readonly at: number,
    step: PassStep,
  ) {
    this.step = step
  }

  /** Whether its numbers still lie in the pass's memory (`data` not made). */
  held(): boolean {
    return this.data === undefined && this.home.version === this.version
  }

  value(): Float64Array {
    if (this.data === undefined) {
      if (this.home.version === this.version) {
        residentReads.copied++
        this.fill(this.copy())
      } else replay(this.step!)
    }
    return this.data!
  }

  /** Copies its numbers into `dst` without making `data`; false when they must be made first. */
  copyInto(dst: Float64Array): boolean {
    if (this.data !== undefined) dst.set(this.data)
    else if (this.home.version === this.version) {
      dst.set(this.home.view().subarray(this.at, this.at + this.length))
    } else return false
    return true
  }

  /** Made now from the pass's memory, while it holds them (a step the pass materializes). */
  settle(): void {
    if (this.held()) {
      residentReads.settled++
      this.fill(this.copy())
    }
  }

  /** Takes `data` (computed by a replay) unless it was made already. */
  fill(data: Float64Array): void {
    if (this.data === undefined) this.data = data
    this.step = null
  }

  private copy(): Float64Array {
    const out = uninitializedF64(this.length)
    out.set(this.home.view().subarray(this.at, this.at + this.length))
    return out
  }
}

/** The step's outputs, made by the JavaScript loop from its inputs (replayed first if lazy). */
function replay(step: PassStep): void {
  residentReads.replayed++
  const { members, trees, len } = step
  const ins = step.ins.map((x) => (x === null || x instanceof Float64Array ? x : x.value()))
  const made: (Float64Array | null)[] = [uninitializedF64(len), null]
  const old: LeafSlots[] = []
  const next: LeafSlots[] = []
  for (let j = 0, x = 2; j < members.length; j++) {
    const o: Record<string, Float64Array> = {}
    const n: Record<string, Float64Array> = {}
    if (members[j] !== null) {
      for (const f of trees[j]) {
        o[f] = ins[x]!
        n[f] = made[x++] = uninitializedF64(len)
      }
    }
    old.push(o)
    next.push(n)
  }
  const loop = passLoop(members, true, trees, step.k.map(constantKeys))
  const g = step.g instanceof Float64Array ? step.g : step.g.value()
  loop(step.k, old, next, ins[0]!, g, made[0]!, step.a, len)
  step.outs.forEach((out, x) => out?.fill(made[x]!))
}
