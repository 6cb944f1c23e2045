import {
  type ChainState,
  chainTransform,
  slotName,
  toTransform,
  type TransformLike,
  type TransformOperator,
} from '../../src/engine/transform.js'
import { gradientTransform } from './gradientTransform.js'

/**
 * Several transforms as one, applied in order: `chain(a, b)` maps updates as `a` then `b`
 * would. Unlike piping `a` and `b`, it is one stage with one slot (`state.opt.chain`, holding
 * each child's slot by its name), so it can be wrapped whole by `masked`, `perParameter` or
 * `lookahead`. Hyperparameters are recorded as `chain.child.field`.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   chain,
 *   clipByGlobalNorm,
 *   gradient,
 *   masked,
 *   maxSteps,
 *   scaleByMomentum,
 * } from 'gradstream/operators'
 *
 * const f = () => ({ loss: 0, grad: { W: 4, b: 4 } })
 * const step = pipe(
 *   gradient(f),
 *   masked(chain(clipByGlobalNorm(1), scaleByMomentum(0.9)), { W: true, b: false }),
 *   tap((s) => console.log(s.updates, s.opt.chain)),
 *   // → { W: 1, b: 4 } { scaleByMomentum: { velocity: { W: 1 } } }
 *   applyUpdates(),
 * )
 * train({ params: { W: 0, b: 0 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param args transform operators (or pairs) with distinct slot names, then optionally
 *   `{ name }` for the chain's own slot name (default `chain`)
 * @throws {Error} `chain: transforms: expected distinct slot names, got "scaleByAdam" twice (pass { name } to tell them apart)`
 * @see masked, lookahead
 */
export function chain(
  ...args: readonly (TransformLike | { readonly name: string })[]
): TransformOperator<ChainState> {
  const last = args[args.length - 1]
  const isOptions =
    typeof last === 'object' && last !== null && Object.keys(last).length === 1 && 'name' in last
  const transforms = isOptions ? args.slice(0, -1) : args
  const name = slotName('chain', isOptions ? last.name : undefined)
  const children = transforms.map((t, i) => toTransform('chain', `transforms[${i}]`, t))
  return gradientTransform(chainTransform('chain', name, children))
}
