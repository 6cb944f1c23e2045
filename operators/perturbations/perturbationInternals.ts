import type { ProbeSet } from '../../src/state/types.js'
import { isTensor, type Tensor } from '../../src/tensor/tensor.js'
import type { Params } from '../../src/tree/tree.js'

/** How many objective values (besides the base point) a probe set asks for. */
export function probeCount(p: ProbeSet): number {
  switch (p.kind) {
    case 'central':
      return 2 * p.n
    case 'forward':
    case 'backward':
      return p.n
    default:
      return p.directions.length * (p.antithetic ? 2 : 1)
  }
}

/**
 * The gradient estimate a probe set's losses give, as one flat array in flattening order.
 *
 * - central:  gᵢ = (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h)   (the book's numerical_gradient, bit for bit)
 * - forward:  gᵢ = (f(x + h·eᵢ) − f(x)) / h
 * - backward: gᵢ = (f(x) − f(x − h·eᵢ)) / h
 * - spsa (Δ ∈ {±1}ⁿ, S samples): gᵢ = (1/S) Σₖ (f(x + cΔₖ) − f(x − cΔₖ)) / (2c) · Δₖᵢ
 *   (Δₖᵢ = 1/Δₖᵢ for ±1 entries)
 * - gaussian (u ~ N(0, I)): antithetic gᵢ = (1/S) Σₖ (f(x + σuₖ) − f(x − σuₖ)) / (2σ) · uₖᵢ,
 *   one-sided gᵢ = (1/S) Σₖ (f(x + σuₖ) − f(x)) / σ · uₖᵢ
 *
 * Both random estimators are unbiased for quadratics: the even part of f cancels (antithetic)
 * or averages to zero against the odd moments of u.
 */
export function estimate(p: ProbeSet, base: number, losses: Float64Array, n: number): Float64Array {
  const g = new Float64Array(n)
  switch (p.kind) {
    case 'central': {
      const h = p.h
      for (let i = 0; i < n; i++) g[i] = (losses[2 * i] - losses[2 * i + 1]) / (2 * h)
      return g
    }
    case 'forward':
      for (let i = 0; i < n; i++) g[i] = (losses[i] - base) / p.h
      return g
    case 'backward':
      for (let i = 0; i < n; i++) g[i] = (base - losses[i]) / p.h
      return g
    default: {
      const s = p.scale
      const S = p.directions.length
      for (let k = 0; k < S; k++) {
        const u = p.directions[k]
        const d = p.antithetic
          ? (losses[2 * k] - losses[2 * k + 1]) / (2 * s)
          : (losses[k] - base) / s
        for (let i = 0; i < n; i++) g[i] += d * u[i]
      }
      if (S > 1) for (let i = 0; i < n; i++) g[i] /= S
      return g
    }
  }
}

type Holder = { [key: string]: Params } | Params[]

/**
 * `dst.set(src, offset)`, with a plain loop for short arrays: `TypedArray.prototype.set` is an
 * engine call costing about as much as copying 50 numbers, and the loss stage copies the
 * parameters twice a step (bench/loop.bench.ts: a 2-parameter model spends more in the call
 * than in the copy). Long arrays keep `set` (a memcpy).
 */
function copyInto(dst: Float64Array, src: Float64Array, offset: number): void {
  if (src.length > 32) dst.set(src, offset)
  else for (let i = 0; i < src.length; i++) dst[offset + i] = src[i]
}

/** One leaf of a scratch tree: a tensor's buffer, or a number held by its parent container. */
type Leaf =
  | { readonly data: Float64Array; readonly holder?: undefined; readonly key?: undefined }
  | { readonly data?: undefined; readonly holder: Holder; readonly key: string | number }

/**
 * A private, mutable copy of a parameter tree the loss stage writes probe points into. The
 * objective only ever sees this copy, fully written for the current point; the state's own
 * (frozen) parameters are never touched.
 */
export class Scratch<P extends Params> {
  private root: Params
  private readonly box: { value: Params }
  readonly leaves: Leaf[] = []
  readonly base: Float64Array

  constructor(params: P, n: number) {
    this.box = { value: 0 }
    this.base = new Float64Array(n)
    let k = 0
    const copy = (q: Params, holder: Holder, key: string | number): Params => {
      if (typeof q === 'number') {
        this.base[k++] = q
        this.leaves.push({ holder, key })
        return q
      }
      if (isTensor(q)) {
        const data = q.data.slice()
        this.base.set(data, k)
        k += data.length
        this.leaves.push({ data })
        return { shape: q.shape, data } satisfies Tensor
      }
      if (Array.isArray(q)) {
        const out: Params[] = new Array(q.length)
        for (let i = 0; i < q.length; i++) out[i] = copy(q[i], out, i)
        return out
      }
      const out: { [key: string]: Params } = {}
      for (const name of Object.keys(q).sort())
        out[name] = copy((q as { [key: string]: Params })[name], out, name)
      return out
    }
    this.root = copy(params, this.box as unknown as Holder, 'value')
  }

  /**
   * Loads another parameter tree of the same structure (the next step's), reusing this copy:
   * false (and nothing usable) if the structure differs, so the caller builds a new one.
   */
  reload(params: P): boolean {
    if ((typeof params === 'number') !== (typeof this.root === 'number')) return false
    const base = this.base
    const leaves = this.leaves
    // hot path, taken every step by a model that is one tensor: two copies, no closure
    if (leaves.length === 1 && isTensor(params)) {
      const data = leaves[0].data
      if (data === undefined || data.length !== params.data.length) return false
      copyInto(data, params.data, 0)
      copyInto(base, params.data, 0)
      return true
    }
    let i = 0
    let j = 0
    const go = (q: Params): boolean => {
      if (typeof q === 'number') {
        const leaf = leaves[j++]
        if (leaf === undefined || leaf.data !== undefined) return false
        ;(leaf.holder as Record<string | number, number>)[leaf.key] = q
        base[i++] = q
        return true
      }
      if (isTensor(q)) {
        const leaf = leaves[j++]
        if (leaf === undefined || leaf.data === undefined || leaf.data.length !== q.data.length) {
          return false
        }
        copyInto(leaf.data, q.data, 0)
        copyInto(base, q.data, i)
        i += q.data.length
        return true
      }
      if (Array.isArray(q)) {
        for (let k = 0; k < q.length; k++) if (!go(q[k])) return false
        return true
      }
      for (const name of Object.keys(q).sort()) {
        if (!go((q as { [key: string]: Params })[name])) return false
      }
      return true
    }
    return go(params) && i === base.length && j === leaves.length
  }

  /** The tree to hand to the objective (a number root lives in a box). */
  get tree(): P {
    return (typeof this.root === 'number' ? this.box.value : this.root) as P
  }

  /**
   * Evaluates the axis probes, exactly as the book's `numerical_gradient` does per coordinate:
   * `x[i] = tmp + h; f(x); x[i] = tmp − h; f(x); x[i] = tmp` (central), or one side only.
   */
  axes(
    kind: 'central' | 'forward' | 'backward',
    h: number,
    f: (p: P) => number,
    out: Float64Array,
  ): void {
    const two = kind === 'central'
    const sign = kind === 'backward' ? -1 : 1
    let i = 0
    for (const leaf of this.leaves) {
      if (leaf.data !== undefined) {
        const data = leaf.data
        for (let j = 0; j < data.length; j++, i++) {
          const tmp = data[j]
          if (two) {
            data[j] = tmp + h
            out[2 * i] = f(this.tree)
            data[j] = tmp - h
            out[2 * i + 1] = f(this.tree)
          } else {
            data[j] = sign > 0 ? tmp + h : tmp - h
            out[i] = f(this.tree)
          }
          data[j] = tmp
        }
      } else {
        const { holder, key } = leaf
        const tmp = (holder as Record<string | number, number>)[key]
        const set = (v: number) => ((holder as Record<string | number, number>)[key] = v)
        if (two) {
          set(tmp + h)
          out[2 * i] = f(this.tree)
          set(tmp - h)
          out[2 * i + 1] = f(this.tree)
        } else {
          set(sign > 0 ? tmp + h : tmp - h)
          out[i] = f(this.tree)
        }
        set(tmp)
        i++
      }
    }
  }

  /** Writes `base + t·u` into every coordinate (t = 0 restores the base point). */
  move(u: Float64Array | null, t: number): void {
    const base = this.base
    let i = 0
    for (const leaf of this.leaves) {
      if (leaf.data !== undefined) {
        const data = leaf.data
        // a loop, not data.set(base.subarray(…)): no view allocated a step (see copyInto)
        if (u === null) for (let j = 0; j < data.length; j++) data[j] = base[i + j]
        else for (let j = 0; j < data.length; j++) data[j] = base[i + j] + t * u[i + j]
        i += data.length
      } else {
        ;(leaf.holder as Record<string | number, number>)[leaf.key] =
          u === null ? base[i] : base[i] + t * u[i]
        i++
      }
    }
  }
}
