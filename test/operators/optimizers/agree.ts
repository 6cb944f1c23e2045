import fc from 'fast-check'
import { expect } from 'vitest'
import { flatten } from 'gradstream'
import type { OperatorFunction } from 'rxjs'
import type { TrainState, WithGradient } from 'gradstream'
import { expectClose } from '../../helpers/expectClose.js'
import { runSteps, template, treesLike, type TreeT } from '../transforms/fixture.js'
import { type Ref, refTrajectory } from './reference.js'

/** Gradient coordinates: 0 or of magnitude in [1e-3, 3] (no subnormals: see the tolerance). */
const gradValue = fc.oneof(
  fc.constant(0),
  fc.double({ min: 1e-3, max: 3, noNaN: true }),
  fc.double({ min: -3, max: -1e-3, noNaN: true }),
)

export const STEPS = 30

/**
 * Checks, as a property over random parameter trees, 30 random gradients and the
 * hyperparameters `hyper` draws, that `make(h)` moves the parameters as `ref(h)` does after
 * every one of 30 steps.
 *
 * Tolerance (`exact` aside): each step rounds O(10) times per coordinate, each rounding
 * 2⁻⁵³ relative to operands no larger than the trajectory's scale S = 1 + max|θ|, and the
 * gradients do not depend on θ (no feedback), so the gap after 30 steps is below
 * 30·10·2⁻⁵³·S ≈ 3.3e-14·S: the 1e-12 relative to S holds with room to spare.
 */
export function expectAgreement<H>(
  hyper: fc.Arbitrary<H>,
  make: (h: H) => OperatorFunction<WithGradient<TreeT>, TrainState<TreeT>>,
  ref: (h: H) => Ref,
  { exact = false, numRuns }: { exact?: boolean; numRuns?: number } = {},
): void {
  fc.assert(
    fc.property(
      template.chain((t) =>
        fc.tuple(treesLike(t, 1), treesLike(t, STEPS, gradValue)).map(([[p], g]) => ({ p, g })),
      ),
      hyper,
      ({ p, g }, h) => {
        const states = runSteps<TreeT>(make(h), p, (k) => g[k], STEPS)
        const expected = refTrajectory(
          ref(h),
          flatten(p),
          g.map((x) => flatten(x)),
        )
        let scale = 1
        for (const e of expected) for (const v of e) scale = Math.max(scale, 1 + Math.abs(v))
        states.forEach((s, k) => {
          const actual = flatten(s.params)
          if (exact) {
            expect(actual, `step ${k + 1}`).toEqual(expected[k])
            return
          }
          expected[k].forEach((e, i) =>
            expectClose(
              actual[i],
              e,
              { atol: 1e-12 * scale, rtol: 1e-12 },
              `step ${k + 1} θ[${i}]`,
            ),
          )
        })
        // the tree's structure is kept
        expect(Object.keys(states[STEPS - 1].params).sort()).toEqual(['W', 'b', 's'])
      },
    ),
    { numRuns: numRuns ?? 100 }, // 30 steps a run: fewer runs than the global default
  )
}

export const lr = fc.double({ min: 1e-4, max: 0.5, noNaN: true })
export const unit = (max = 0.999) => fc.double({ min: 0, max, noNaN: true })
export const eps = fc.double({ min: 1e-10, max: 1e-6, noNaN: true })
