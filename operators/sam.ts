import { defer, map, type Observable } from 'rxjs'
import { expectFunction, show } from '../src/errors.js'
import type { TrainState, WithGradient } from '../src/state/types.js'
import { leafSourcesOf } from '../src/engine/leaves.js'
import { type LazyData, numbersOf } from '../src/tensor/lazyData.js'
import { lyingNumbers } from '../src/tensor/keptSums.js'
import { addScaledInto } from '../src/tensor/kernels/addScaledKernel.js'
import { uninitializedF64 } from '../src/tensor/uninitialized.js'
import type { Params } from '../src/tree/tree.js'
import { type AnalyticGradient, gradient } from './gradient.js'
import type * as t from 'io-ts'
import { SamOptionsC } from '../src/state/configCodecs.js'
import { decodeOptions } from '../src/state/decode.js'

/**
 * Sharpness-aware minimization (Foret et al. 2021), a gradient stage used in place of
 * `gradient(fn)`: it takes the gradient at the worst nearby point of a ρ-ball instead of at θ.
 * On the step's batch,
 *
 *     g = ∇f(θ),  e = ρ·g / (‖g‖₂ + 1e-12)
 *     adaptive (ASAM, Kwon et al. 2021):  e = ρ·θ²⊙g / (‖|θ|⊙g‖₂ + 1e-12)
 *     grad = updates = ∇f(θ + e),  loss = f(θ)
 *
 * as the reference implementation (davda54/sam) computes it; `evaluations` counts both calls.
 * Any optimizer follows it (`pipe(sam(fn), sgd(0.1))` is SAM-SGD). ρ = 0 is `gradient(fn)`
 * with a second, identical call. `fn` sees θ + e in the run's private scratch arrays,
 * rewritten at the next step (as the line search's trial points): it must keep none of it.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { maxSteps, sam, sgd } from 'gradstream/operators'
 *
 * // f = w⁴/4 (∇f = w³) from w = 1: e = ρ·g/(|g| + 1e-12) ≈ 0.5, the gradient is taken at 1.5
 * const f = ({ w }: { w: number }) => ({ loss: w ** 4 / 4, grad: { w: w ** 3 } })
 * train({ params: { w: 1 }, step: pipe(sam(f, { rho: 0.5 }), sgd(0.1)) })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => console.log(s.grad, s.params, s.loss, s.evaluations))
 * // → { w: 3.374999999996625 } { w: 0.6625000000003375 } 0.25 2
 * ```
 * @param fn the analytic gradient, as `gradient(fn)` takes it
 * @param options.rho ρ ≥ 0, the radius, default 0.05; options.adaptive ASAM, default false
 * @throws {RangeError} `sam: rho: expected a non-negative finite number, got -1`
 * @see gradient
 */
export function sam<P extends Params, B = unknown>(
  fn: AnalyticGradient<P, B>,
  options: t.TypeOf<typeof SamOptionsC> = {},
): (source: Observable<TrainState<P>>) => Observable<WithGradient<P>> {
  expectFunction('sam', 'fn', fn)
  const { rho = 0.05, adaptive = false } = decodeOptions(SamOptionsC, options, 'sam')
  // gradient(both) counts one evaluation; the second call is counted here
  const second = map(<S extends WithGradient<P>>(s: S) =>
    Object.freeze({ ...s, evaluations: s.evaluations + 1 }),
  )
  return (source) =>
    defer(() => {
      let climbed: Float64Array[] = [] // the run's scratch for θ + e
      let gs: Float64Array[] = [] // and for a lazy g (the tape's ∂W), copied where it lies
      const both = (params: P, batch: B) => {
        const [loss, g] = lossAndGrad<P>(fn(params, batch))
        // θ and g left unread (a lazy θ, a lazy ∂W: not made into fresh arrays, so the tape
        // keeps its next gradients lazy too)
        const { data, count, build } = leafSourcesOf('sam', [params, g], [0, 1])
        const [theta, grad] = data
        if (climbed.length !== count || theta.some((p, j) => p.length !== climbed[j].length)) {
          climbed = theta.map((p) => uninitializedF64(p.length)) // written before read
          gs = theta.map((p) => uninitializedF64(p.length))
        }
        // and read where they lie (sgd's kept sum, the tape's ∂W: nothing lays out before the
        // second call), else copied into the scratch (θ + e is then made in place)
        const ps = theta.map((x, j) => lyingNumbers(x) ?? numbersOf(x, climbed[j]))
        const qs = grad.map(
          (x, j) => lyingNumbers(x) ?? (x as LazyData).lying?.() ?? numbersOf(x, gs[j]),
        )
        let sq = 0
        for (let j = 0; j < count; j++) sq = sumSquaresLeaf(ps[j], qs[j], adaptive, sq)
        const scale = rho / (Math.sqrt(sq) + 1e-12)
        for (let j = 0; j < count; j++) climbLeaf(ps[j], qs[j], climbed[j], adaptive, scale)
        return { loss, grad: lossAndGrad<P>(fn(build(climbed) as P, batch))[1] }
      }
      return source.pipe(gradient(both), second)
    })
}

/**
 * acc + Σ (|θ|·g)² (adaptive) or Σ g² over one leaf: a loop each (with the choice inside the
 * loop, V8 ran it several times slower).
 */
function sumSquaresLeaf(p: Float64Array, g: Float64Array, adaptive: boolean, acc: number): number {
  if (adaptive) {
    for (let i = 0; i < g.length; i++) {
      const v = Math.abs(p[i]) * g[i]
      acc += v * v
    }
  } else for (let i = 0; i < g.length; i++) acc += g[i] * g[i]
  return acc
}

/**
 * One leaf of θ + e: o = θ + (θ²·g)·scale (adaptive) or θ + scale·g (o may be p), the latter
 * with wasm SIMD on long leaves (the same bits; a JavaScript loop took 3× as long).
 */
function climbLeaf(
  p: Float64Array,
  g: Float64Array,
  o: Float64Array,
  adaptive: boolean,
  scale: number,
): void {
  if (adaptive) for (let i = 0; i < o.length; i++) o[i] = p[i] + p[i] * p[i] * g[i] * scale
  else addScaledInto(p, g, scale, o)
}

/** The loss and gradient from any shape an `AnalyticGradient` returns. */
function lossAndGrad<P>(r: unknown): readonly [number, P] {
  const o = r as { loss?: unknown; value?: unknown; grad?: unknown } | null
  const [loss, grad] = Array.isArray(r) ? r : [o?.loss ?? o?.value, o?.grad]
  if (typeof loss !== 'number' || (typeof grad !== 'object' && typeof grad !== 'number')) {
    throw new TypeError(
      `sam: fn: expected { loss, grad }, { value, grad } or [loss, grad], got ${show(r)}`,
    )
  }
  return [loss, grad as P]
}
