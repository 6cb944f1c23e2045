// Internal (not exported from src/index.ts): the new θ and slot arrays of a step the resident
// pass ran (src/engine/wasmPass.ts `residentPass`), held in the pass's memory until read
// (src/tensor/heldData.ts). A replay runs the rule by the JavaScript loop (src/engine/pass.ts),
// which equals the kernel bit for bit (compiled from the rule's own source), over the step's
// inputs (arrays, or held outputs of the step before), g, constants and `a`, all kept here. The
// pass settles every K-th step, and a residence's last one before another run of the pass takes
// it (a run still stepping; a run idle long enough for its memory to be taken over is not copied
// out): a replay runs at most K steps; a kept state pins at most K gradients of its leaf.

import { HeldData } from '../tensor/heldData.js'
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
export class ResidentData extends HeldData<Home, PassStep> {
  protected readonly reads = residentReads
  constructor(
    length: number,
    home: Home,
    version: number,
    /** its first number's index in `home.view()` */
    private readonly at: number,
    /** the step that wrote it */
    step: PassStep,
  ) {
    super(length, home, version, step)
  }

  protected view(): Float64Array {
    return this.home.view().subarray(this.at, this.at + this.length)
  }

  /** false: the step replays all its outputs at once (`value()`). */
  protected override replayInto(): boolean {
    return false
  }

  /** The step's outputs, made by the JavaScript loop from its inputs (replayed first if lazy). */
  protected replay(): void {
    const step = this.kept!
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
}
