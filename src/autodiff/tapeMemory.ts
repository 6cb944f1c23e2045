// Internal (not exported from src/index.ts): the buffers of one differentiated function's tape,
// reused from call to call. A training step calls `valueAndGrad(f)` with the same shapes every
// time, so its tape asks for the same sequence of buffer lengths every time: the i-th buffer a
// call asks for is the i-th buffer of the call before (when its length still fits), and a step
// allocates nothing once it has run. Fresh arrays of a few hundred kilobytes are not free: each
// is zeroed, and large ones are mapped and faulted in page by page (figures: bench/RESULTS.md,
// issue 21).
//
// Only the tape's intermediates live here: values `valueAndGrad` returns are copied out, and ops
// run outside a differentiated call (a net's `predict`) allocate as before. A left operand that
// is data (a batch) is held compressed in wasm memory for the whole call (x·W in the forward
// pass and xᵀ·δ in the backward pass), released when the call ends.
//
// On the wasm backend, once a call has run, the next calls' buffers are views of an arena in the
// kernels' linear memory (wasmKernels.ts `openArena`), laid out from the last call's lengths: a
// product reads its operands and writes its result there, and the bias + activation passes run
// there, with no copy in or out between ops. A call that asks for another sequence of lengths
// (the short last batch of an epoch) gets JavaScript buffers from its first difference on.
import { resolvedBackend } from '../tensor/kernels/gemmKernel.js'
import {
  arenaBuffer,
  arenaView,
  closeArena,
  flushUnhomedOver,
  isResident,
  keepViews,
  liesSinceOpen,
  openArena,
  paddedStride,
  scratchPeak,
  twinView,
} from '../tensor/kernels/wasmKernels.js'
import { type LazyData, lazyDataOf } from '../tensor/lazyData.js'
import { heldLeft, type HeldLeft } from '../tensor/linalg.js'
import type { Tensor } from '../tensor/tensor.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'

/**
 * Lazy parameters a call copied into its arena, those it found lying there, and those it read in
 * an optimizer pass's memory (tests).
 */
export const lazyParameters = { copied: 0, lying: 0, inPass: 0 }

/** One differentiated function's buffers, in the order its calls ask for them. */
export class TapeMemory {
  /**
   * @param forwardOnly for forward passes only (a data set's logits): a held batch's columns
   *   are compressed only if a product `xᵀ·δ` asks for them
   */
  constructor(private readonly forwardOnly = false) {}

  private readonly buffers: Float64Array[] = []
  private next = 0
  private holds: [Tensor, HeldLeft][] = []
  /** true while a call runs on these buffers (a nested call of the same function gets its own) */
  busy = false
  /** multiply-adds of the last finished call's products (the step timer's measure of a call) */
  work = 0
  /** multiply-adds of the running call's products so far */
  counting = 0
  /** the lengths the running call asked for, in order */
  private lengths: number[] = []
  /** the last finished call's lengths, and where each buffer lies in the arena (bytes from it) */
  private plan: number[] = []
  private offsets: number[] = []
  /** the arena's bytes: the buffers', then the lazy parameters' copies' */
  private bufferBytes = 0
  private arenaBytes = 0
  /** the most bytes the kernels laid out above the arena in any call (reserved with it) */
  private headroom = 0
  /** the running call's arena (a byte offset in linear memory), or −1 */
  private arena = -1
  /** the views of the arena handed out, while memory keeps the buffer they view */
  private views: Float64Array[] = []
  /** the buffer `views` view (the kernels' memory may have grown, or be another thread's) */
  private viewed: ArrayBufferLike | null = null
  /** the arena's offset `views` were made at (it lies past a placed right operand, if any) */
  private viewedAt = -1
  /** true once the running call asked for a length the plan does not have at that place */
  private strayed = false
  /** the running call's number: a buffer handed out in it holds its numbers while it runs */
  calls = 0
  /** the call whose gradient left in the arena was last read (lazyGradient.ts) */
  lazyReadAt = -Infinity
  /**
   * The running call's function called again on the same parameters and batch, giving the
   * numbers of its gradient for leaf `leaf` (a tape node of `valueAndGrad`'s parameters), or
   * null where the function may depend on more than those (set by `pureValueAndGrad`).
   */
  again: ((leaf: object) => (() => Float64Array) | null) | null = null
  /** whether the running call leaves an xᵀ·δ in its arena (lazyGradient.ts: one a call) */
  leftRows = false
  /** whether the function is a net's recipe (`pureValueAndGrad`), whose calls may set `again` */
  recipe = false
  /**
   * parameters the running call copied into its arena (`placed`), with their copies (a lazy
   * parameter by its source)
   */
  private twins: [Float64Array | LazyData, Float64Array][] = []
  /** the lazy parameters the running call copied into its buffers (`parameter`), with their copies */
  private copies: [LazyData, Float64Array][] = []
  /** the gradients the running call leaves in its arena (`keep`): their tokens and buffers */
  private kept: [object, Float64Array][] = []
  /**
   * The lazy parameters' copies (`parameter`), a sequence of their own, laid out after the
   * buffers: a parameter that is lazy in one call and not in the next (the first update makes
   * it so) then moves no other buffer, and the call does not stray from the plan for it.
   */
  private readonly params = new TapeBuffers()

  /** the fresh arrays the running call made (`fresh`) and has not yet handed back (`takeFresh`) */
  private freshOut: Float64Array[] = []
  /** the running call's block for small fresh arrays (made on its first), and its numbers used */
  private block: ArrayBuffer | null = null
  private blockUsed = 0
  /** numbers of small fresh arrays the running call asked for, and the last call's */
  private blockAsked = 0
  private blockPlan = 0

  /**
   * A fresh array of `length` zeros (`zero`) or of unspecified numbers, for the running call's
   * caller alone: a parameter's gradient, a lazy gradient's own copy of δ. Below
   * FRESH_BLOCK_MAX numbers a view of one block made once a call for all of them, sized from
   * the last call's (a typed array over 64 bytes has a backing store of its own outside V8's
   * heap, costly to make and to collect: one a call instead of one an array); larger, or
   * past what the last call asked for, an array of its own. Nothing else is ever laid out in a
   * block, so an array from it holds its numbers for as long as anyone keeps it.
   */
  fresh(length: number, zero: boolean): Float64Array {
    if (length >= FRESH_BLOCK_MAX) return zero ? new Float64Array(length) : uninitializedF64(length)
    this.blockAsked += length
    if (this.block === null && this.blockPlan > 0) {
      this.block = new ArrayBuffer(this.blockPlan * 8)
      this.blockUsed = 0
    }
    if (this.block === null || this.blockUsed + length > this.blockPlan) {
      return new Float64Array(length)
    }
    const v = new Float64Array(this.block, this.blockUsed * 8, length)
    this.blockUsed += length
    return v
  }

  /** `fresh`, noted as a parameter's gradient (`takeFresh`). */
  freshGradient(length: number, zero: boolean): Float64Array {
    const b = this.fresh(length, zero)
    this.freshOut.push(b)
    return b
  }

  /** True once for an array from `freshGradient` in the running call: the caller may keep it. */
  takeFresh(b: Float64Array): boolean {
    const out = this.freshOut
    const i = out.indexOf(b)
    if (i < 0) return false
    out[i] = out[out.length - 1]
    out.pop()
    return true
  }

  /** The next buffer of `length` numbers; its contents are whatever the last call left. */
  take(length: number): Float64Array {
    const i = this.next++
    this.lengths.push(length)
    if (this.arena >= 0 && !this.strayed) {
      if (this.plan[i] === length) {
        const v = this.views[i]
        if (v !== undefined && v.length === length) return v
        return (this.views[i] = arenaView(this.arena + this.offsets[i], length))
      }
      this.strayed = true
    }
    let b = this.buffers[i]
    if (b === undefined || b.length !== length) b = this.buffers[i] = new Float64Array(length)
    return b
  }

  /**
   * Parameter `p` as the call reads it: a lazy one whose numbers can be copied without making
   * its data (an optimizer's state left in its pass's memory: src/tensor/lazyData.ts) copied
   * into the call's next buffer, else `p`.
   */
  parameter(p: Tensor): Tensor {
    const lz = lazyDataOf(p)
    if (lz?.copyInto === undefined) return p
    let v = this.params.take(lz.length, this.arena)
    // an optimizer's pass that keeps its numbers in the memory this call runs on (a step on two
    // threads: wasmPass.ts's band of the memory shared with the helper): read where they lie —
    // nothing writes there while the call runs
    const lying = this.arena >= 0 ? (lz.lying?.() ?? null) : null
    if (lying !== null && lying.buffer === v.buffer && lying.length === v.length) {
      v = lying
      lazyParameters.inPass++
    }
    // the update's sum left where the last call read this parameter: it lies there already
    else if (liesSinceOpen(lz, v)) lazyParameters.lying++
    else {
      // copied over the update's sum left unhomed there (not this parameter's): it goes home first
      flushUnhomedOver(v.buffer, v.byteOffset, v.byteOffset + v.byteLength)
      if (lz.copyInto(v)) lazyParameters.copied++
      else return p
    }
    this.copies.push([lz, v])
    return { shape: p.shape, data: v }
  }

  /**
   * A held product's right operand `b` (k×n) that is a parameter: on the wasm backend (when the
   * kernel reads it unpadded), copied into the call's next buffer — in the arena, the copy the
   * product would make in its scratch — and returned, so that it still lies there when the call
   * ends (`end` notes it: an update W + a·∂W right after the call reads W there); else `b`.
   */
  placed(b: Tensor): Tensor {
    const [k, n] = b.shape
    if (b.shape.length !== 2 || resolvedBackend() !== 'wasm' || paddedStride(n) !== n) return b
    const v = this.take(k * n)
    // no arena, or placed for many products already (withRightOperand): read where it lies
    if (v.buffer !== arenaBuffer() || isResident(b.data)) return b
    // a lazy parameter `parameter` copied: the twin is noted by its source (the update reads it
    // by its source), and its copy read where it lies when that is in this call's arena
    let source: Float64Array | LazyData = b.data
    for (const [lz, copy] of this.copies) {
      if (copy !== b.data) continue
      if (copy.length === k * n && copy.buffer === v.buffer) {
        this.twins.push([lz, copy])
        return b
      }
      source = lz
    }
    v.set(b.data.length === k * n ? b.data : b.data.subarray(0, k * n))
    this.twins.push([source, v])
    return { shape: b.shape, data: v }
  }

  /**
   * Leaves `view` (a buffer of this call) standing for `token` after the call (`end`:
   * wasmKernels.ts `keepViews`); false where it lies outside the arena.
   */
  keep(token: object, view: Float64Array): boolean {
    if (view.buffer !== arenaBuffer()) return false
    this.kept.push([token, view])
    return true
  }

  /** `a` (data: a constant left operand) held for products during this call. */
  held(a: Tensor): HeldLeft {
    for (const [t, h] of this.holds) if (t === a) return h
    const h = heldLeft(a, !this.forwardOnly)
    this.holds.push([a, h])
    return h
  }

  /** Starts a call: buffers are handed out from the first again (from the arena if it opens). */
  begin(): void {
    this.calls++
    this.again = null
    this.params.begin()
    this.twins = []
    this.copies = []
    this.kept = []
    this.leftRows = false
    this.freshOut = []
    this.block = null
    this.blockAsked = 0
    this.next = 0
    this.counting = 0
    this.busy = true
    this.lengths = []
    this.strayed = false
    scratchPeak() // from here on: this call's
    this.arena =
      this.plan.length > 0 && resolvedBackend() === 'wasm'
        ? openArena(this.arenaBytes, this.headroom)
        : -1
    // the update's sum left unhomed where this call's buffers lie (a sum of another plan's
    // parameter) goes home before they are written (wasmKernels.ts `unhomed`)
    if (this.arena >= 0) {
      flushUnhomedOver(arenaBuffer(), this.arena, this.arena + this.bufferBytes)
    }
    // memory grew since the views were made, the kernels now run over another memory (a step
    // on two threads opens the arena in the memory the threads share) or the arena starts
    // elsewhere (past a right operand placed for many products): views made anew
    if (this.arena >= 0 && (arenaBuffer() !== this.viewed || this.arena !== this.viewedAt)) {
      this.views = []
      this.params.views = []
      this.viewed = arenaBuffer()
      this.viewedAt = this.arena
    }
  }

  /** Ends a call: releases the held operands and the arena; plans the next call's arena. */
  end(): void {
    for (const [, h] of this.holds) h.release()
    this.holds = []
    if (this.arena >= 0) {
      closeArena()
      // what the arena holds for after the call, valid until the kernels next lay anything out
      for (const [array, view] of this.twins) twinView(array, view)
      if (this.kept.length > 0) keepViews(this.kept)
    }
    this.twins = []
    this.copies = []
    this.kept = []
    this.freshOut = []
    this.block = null
    this.blockPlan = this.blockAsked
    this.arena = -1
    this.headroom = Math.max(this.headroom, scratchPeak())
    const L = this.lengths
    const changed = L.length !== this.plan.length || L.some((len, i) => len !== this.plan[i])
    if (changed) {
      this.plan = L
      this.views = []
      this.offsets = []
      let at = 0
      for (const len of L) {
        this.offsets.push(at)
        at += (len * 8 + 15) & ~15
      }
      this.bufferBytes = at
    }
    this.arenaBytes = this.params.plan(this.bufferBytes, changed)
    this.work = this.counting
    this.busy = false
  }
}

/**
 * A sequence of buffers of its own within a tape's arena, laid out from byte `from` of it: the
 * i-th buffer a call asks for is the i-th of the call before where its length fits (each place
 * on its own: one that does not fit moves no other), else a JavaScript array.
 */
class TapeBuffers {
  private readonly buffers: Float64Array[] = []
  private lengths: number[] = []
  private planned: number[] = []
  private offsets: number[] = []
  private from = 0
  private bytes = 0
  views: Float64Array[] = []

  begin(): void {
    this.lengths = []
  }

  /** The next buffer of `length` numbers, in the arena at byte `arena` (−1: none open). */
  take(length: number, arena: number): Float64Array {
    const i = this.lengths.length
    this.lengths.push(length)
    if (arena >= 0 && this.planned[i] === length) {
      const v = this.views[i]
      if (v !== undefined && v.length === length) return v
      return (this.views[i] = arenaView(arena + this.from + this.offsets[i], length))
    }
    let b = this.buffers[i]
    if (b === undefined || b.length !== length) b = this.buffers[i] = new Float64Array(length)
    return b
  }

  /**
   * Plans the next call's places from this call's lengths, from byte `from` of the arena (`moved`:
   * it starts elsewhere than before); returns the arena's bytes with them.
   */
  plan(from: number, moved: boolean): number {
    const L = this.lengths
    const same = L.length === this.planned.length && L.every((len, i) => len === this.planned[i])
    if (!same || moved || from !== this.from) {
      this.planned = L
      this.views = []
      this.offsets = []
      this.from = from
      let at = 0
      for (const len of L) {
        this.offsets.push(at)
        at += (len * 8 + 15) & ~15
      }
      this.bytes = at
    }
    return from + this.bytes
  }
}

let current: TapeMemory | null = null

/** Below this many numbers a fresh array is a view of its call's block (`TapeMemory.fresh`). */
const FRESH_BLOCK_MAX = 8192

/**
 * A buffer for a gradient flowing into `target`: for a parameter of a differentiated call (a
 * leaf of the tape) a fresh array, which `valueAndGrad` returns without copying it (see
 * `takeFresh`); else `scratch` (`zero`: filled with zeros, for a result accumulated into).
 */
export function gradientBuffer(
  // a tape Var, described by what is read (tape.ts imports this file: no import back)
  target: { readonly parents: readonly unknown[]; readonly requiresGrad: boolean },
  length: number,
  zero = false,
): Float64Array {
  if (current === null || target.parents.length > 0 || !target.requiresGrad) {
    return zero ? zeroed(length) : scratch(length)
  }
  return current.freshGradient(length, zero)
}

/**
 * True once for a buffer from `gradientBuffer`'s fresh arrays in the running call: the caller
 * may keep it.
 */
export function takeFresh(b: Float64Array): boolean {
  return current !== null && current.takeFresh(b)
}

/** The memory of the differentiated call running now, or null outside one. */
export const tapeMemory = (): TapeMemory | null => current

/**
 * A buffer of `length` numbers for a tape value the caller fills completely: the running call's
 * next buffer, or a fresh array outside a call.
 */
export function scratch(length: number): Float64Array {
  return current === null ? new Float64Array(length) : current.take(length)
}

/** `scratch` filled with zeros, for a result the caller accumulates into. */
export function zeroed(length: number): Float64Array {
  return current === null ? new Float64Array(length) : current.take(length).fill(0)
}

/**
 * Runs `fn` (a traced call and its backward pass) with `memory` as the tape's buffers; a nested
 * call of the function whose memory is busy runs on fresh arrays instead.
 */
export function withTapeMemory<R>(memory: TapeMemory, fn: () => R): R {
  const prev = current
  const own = memory.busy ? new TapeMemory() : memory
  own.begin()
  current = own
  try {
    return fn()
  } finally {
    current = prev
    own.end()
  }
}
