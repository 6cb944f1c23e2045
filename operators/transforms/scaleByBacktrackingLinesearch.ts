import { defer, map, type Observable } from 'rxjs'
import { expectFunction } from '../../src/errors.js'
import { handOverSum, leafSourcesOf } from '../../src/engine/leaves.js'
import { scaledTree, TrialPoints } from '../../src/engine/scaledLeaves.js'
import type { WithGradient } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import type * as t from 'io-ts'
import { ScaleByBacktrackingLinesearchOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'

/** The slot of `scaleByBacktrackingLinesearch`: the learning rate it accepted last. */
export type ScaleByBacktrackingLinesearchState = { readonly learningRate: number }

/**
 * Backtracking line search (Armijo), optax's `scale_by_backtracking_linesearch` without
 * atol/rtol/store_grad. Put it after the transforms that give a descent direction u (the
 * updates so far); with g the step's gradient and f(θ) its loss, on the step's batch it tries
 *
 *     η = min(η_prev·increaseFactor, maxLearningRate)   (η_prev = maxLearningRate at first)
 *
 * and multiplies η by decreaseFactor until f(θ + η·u) ≤ f(θ) + slopeRtol·η·⟨u, g⟩ or
 * `maxBacktrackingSteps` decreases are spent (then the last η is kept; η = 0 if f was NaN or
 * +∞ there). The updates become η·u; η is kept in `state.opt.scaleByBacktrackingLinesearch`
 * and recorded as `state.hyper['scaleByBacktrackingLinesearch.lr']`, and every call of `fn`
 * is counted in `evaluations`. `fn` sees each trial point θ + η·u in arrays the library owns
 * (the run's scratch, or the homes it keeps sums in), rewritten for the next trial and step (as
 * the loss stage's probes): it must keep none of it and write none. The accepted point is
 * already θ + η·u: an `applyUpdates` right after takes it (kept where it was written, the same
 * bits) as the new parameters instead of adding again.
 *
 * @example
 * ```ts
 * import { pipe } from 'rxjs'
 * import { tensor, train, type Tensor } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   scaleByBacktrackingLinesearch,
 *   scaleByLearningRate,
 * } from 'gradstream/operators'
 *
 * // optax's docstring: sgd(1) then the line search on f(x) = Σx² from [1, 2, 3]
 * const f = (x: Tensor) => x.data.reduce((s, v) => s + v * v, 0)
 * const step = pipe(
 *   gradient((x: Tensor) => ({ loss: f(x), grad: tensor([...x.data].map((v) => 2 * v)) })),
 *   scaleByLearningRate(1),
 *   scaleByBacktrackingLinesearch(f),
 *   applyUpdates(),
 * )
 * train({ params: tensor([1, 2, 3]), step })
 *   .pipe(maxSteps(5))
 *   .subscribe((s) => s.step > 0 && console.log(f(s.params).toPrecision(3)))
 * // → 5.04, 1.81, 0.653, 0.235, 0.0847
 * ```
 * @param fn the objective `(params, batch) => number`, the one the gradient is of
 * @param options.maxBacktrackingSteps integer ≥ 0, default 15; slopeRtol in [0, 1), default
 *   1e-4; decreaseFactor in [0, 1), default 0.8; increaseFactor in [1, ∞], default 1.5 (∞:
 *   start at maxLearningRate every step); maxLearningRate > 0, default 1
 * @throws {RangeError} `scaleByBacktrackingLinesearch: decreaseFactor: expected a number in [0, 1), got 1`
 * @see scaleByLearningRate
 */
export function scaleByBacktrackingLinesearch<P extends Params, B = unknown>(
  fn: (params: P, batch: B) => number,
  options: t.TypeOf<typeof ScaleByBacktrackingLinesearchOptionsC> = {},
): <T extends WithGradient<P>>(source: Observable<T>) => Observable<T> {
  const name = 'scaleByBacktrackingLinesearch'
  expectFunction(name, 'fn', fn)
  const o = decodeOptions(ScaleByBacktrackingLinesearchOptionsC, options, name)
  const { maxBacktrackingSteps = 15, slopeRtol = 1e-4, decreaseFactor = 0.8 } = o
  const { increaseFactor = 1.5, maxLearningRate = 1 } = o
  return <T extends WithGradient<P>>(source: Observable<T>) =>
    defer(() => {
      const points = new TrialPoints() // the run's own memory for trial points and copies
      return source.pipe(
        map((s: T): T => {
          const prev = (s.opt[name] as ScaleByBacktrackingLinesearchState | undefined)?.learningRate
          let eta = Math.min((prev ?? maxLearningRate) * increaseFactor, maxLearningRate)
          const { data, build } = leafSourcesOf(name, [s.params, s.updates, s.grad], [0, 1, 2])
          const slope = points.start(data[0], data[1], data[2]) // ⟨u, g⟩, lazy ones left unread
          let error = Infinity
          let calls = 0
          while (!(error <= 0) && calls <= maxBacktrackingSteps) {
            if (calls > 0) eta = decreaseFactor * eta
            const e =
              fn(build(points.at(eta)) as P, s.batch as B) - s.baseLoss - eta * slopeRtol * slope
            error = Number.isNaN(e) ? Infinity : Math.max(e, 0)
            calls++
          }
          const lr = error === Infinity ? 0 : eta
          const updates = lr === 1 ? s.updates : scaledTree(s.updates, lr) // 1·u is u
          if (lr === eta) {
            // θ + η·u is the last trial point: applyUpdates takes it where it lies
            handOverSum(s.params, updates, points.keeper(data[0], data[1], eta, build))
          }
          return Object.freeze({
            ...s,
            updates,
            opt: Object.freeze({ ...s.opt, [name]: Object.freeze({ learningRate: lr }) }),
            hyper: Object.freeze({ ...s.hyper, [`${name}.lr`]: lr }),
            evaluations: s.evaluations + calls,
          })
        }),
      )
    })
}
