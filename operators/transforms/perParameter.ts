import { show } from '../../src/errors.js'
import { isTensor } from '../../src/tensor/tensor.js'
import type { Params } from '../../src/tree/tree.js'
import {
  childContext,
  type GradientTransform,
  prefixHyper,
  toTransform,
  type TransformLike,
  type TransformOperator,
} from '../../src/engine/transform.js'
import type * as t from 'io-ts'
import { NameOptionsC } from '../../src/state/configCodecs.js'
import { decodeOptions } from '../../src/state/decode.js'
import { gradientTransform } from './gradientTransform.js'

/** The slot of `perParameter`: each listed parameter's inner slot under its key. */
export type PerParameterState = { readonly [key: string]: unknown }

/**
 * A different transform for each top-level parameter (optax's `partition`, keyed by name):
 * `perParameter({ W1: a, b1: b })` maps `updates.W1` with `a` and `updates.b1` with `b`;
 * parameters not listed pass through unchanged. Each inner slot is kept under its parameter's
 * key and each hyperparameter recorded as `perParameter.W1.field`.
 * `state.lr` is left as it was (each parameter may have its own rate; see `state.hyper`).
 * Unlisted parameters keep their incoming updates, as in `masked`: list every parameter when
 * the listed transforms include the learning rate.
 *
 * @example
 * ```ts
 * import { pipe, tap } from 'rxjs'
 * import { train } from 'gradstream'
 * import {
 *   applyUpdates,
 *   gradient,
 *   maxSteps,
 *   perParameter,
 *   scale,
 *   scaleByAdam,
 * } from 'gradstream/operators'
 *
 * const f = () => ({ loss: 0, grad: { W: 4, b: 4, c: 4 } }) // c is not listed: untouched
 * const step = pipe(
 *   gradient(f),
 *   perParameter({ W: scaleByAdam({ eps: 0 }), b: scale(0.5) }),
 *   tap((s) => console.log(s.updates)), // → { W: 1, b: 2, c: 4 }
 *   applyUpdates(),
 * )
 * train({ params: { W: 0, b: 0, c: 0 }, step })
 *   .pipe(maxSteps(1))
 *   .subscribe()
 * ```
 * @param transforms by top-level parameter key: transform operators, chains or optimizers
 * @param options.name slot name (default `perParameter`)
 * @throws {TypeError} `perParameter: W3: expected a key of the parameters (W1, b1), got "W3"`
 * @see masked, chain
 */
export function perParameter(
  transforms: { readonly [key: string]: TransformLike },
  options: t.TypeOf<typeof NameOptionsC> = {},
): TransformOperator<PerParameterState> {
  const fn = 'perParameter'
  const o = decodeOptions(NameOptionsC, options, fn)
  if (typeof transforms !== 'object' || transforms === null || Array.isArray(transforms)) {
    throw new TypeError(
      `${fn}: transforms: expected a record of transforms by parameter key, got ${show(transforms)}`,
    )
  }
  const keys = Object.keys(transforms).sort()
  const inner: Record<string, GradientTransform> = {}
  for (const k of keys) inner[k] = toTransform(fn, k, transforms[k])
  const record = (p: Params): Record<string, Params> => {
    if (typeof p !== 'object' || isTensor(p) || Array.isArray(p)) {
      throw new TypeError(`${fn}: params: expected a record of parameters, got ${show(p)}`)
    }
    const rec = p as Record<string, Params>
    for (const k of keys) {
      if (!(k in rec)) {
        throw new TypeError(
          `${fn}: ${k}: expected a key of the parameters (${Object.keys(rec).sort().join(', ')}), got ${show(k)}`,
        )
      }
    }
    return rec
  }
  return gradientTransform<PerParameterState>({
    name: o.name ?? fn,
    hyper: Object.assign({}, ...keys.map((k) => prefixHyper(k, inner[k].hyper))),
    init: (params) => {
      const p = record(params)
      const slots: Record<string, unknown> = {}
      for (const k of keys) {
        const s = inner[k].init(p[k])
        if (s !== undefined) slots[k] = s
      }
      return slots
    },
    update: (updates, slots, ctx) => {
      const p = record(ctx.params)
      const u = { ...record(updates) }
      const next: Record<string, unknown> = {}
      for (const k of keys) {
        const [v, s] = inner[k].update(u[k], slots[k], childContext(ctx, k, p[k]))
        u[k] = v
        if (s !== undefined) next[k] = s
      }
      return [u, next]
    },
  })
}
