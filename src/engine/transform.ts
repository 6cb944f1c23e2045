import { isObservable, type Observable } from 'rxjs'
import { show } from '../errors.js'
import type { TrainState, WithGradient } from '../state/types.js'
import type { Params } from '../tree/tree.js'
import { chainPlan, unprefixed } from './elementwise.js'
import type { HyperSpec } from './hyperparams.js'

/** What a transform's `update` is told besides the updates and its own slot. */
export interface TransformContext {
  /** updates completed before this one (0 on the first update) */
  readonly step: number
  /** the parameters the update will be added to */
  readonly params: Params
  /** this step's value of each of the transform's hyperparameters, by field */
  readonly hyper: { readonly [field: string]: number }
}

/**
 * A gradient transform as a pair of pure functions (optax's `GradientTransformation`), with
 * its slot name and hyperparameters: `init` builds its slot from the parameters' structure,
 * `update` maps this step's updates and slot to new updates and a new slot. The slot is plain
 * data (numbers, tensors, arrays, records), stored at `state.opt[name]`; a stateless transform
 * returns `undefined` and gets no slot. How a chain of transforms runs in one pass over the
 * parameters is the engine's business (an `update` made by `elementwise` or `scaling` tells
 * it the per-element rule); nothing here is a hint for it.
 */
export interface GradientTransform<S = unknown> {
  /** the slot name: key of `state.opt` and prefix of its `state.hyper` entries */
  readonly name: string
  /**
   * hyperparameters resolved at each step and handed to `update` by field; one named `lr` is
   * the learning rate, recorded as `state.lr` too
   */
  readonly hyper: { readonly [field: string]: HyperSpec }
  // method syntax: a GradientTransform<ScaleByAdamState> is usable as a GradientTransform<unknown>
  init(params: Params): S
  update(updates: Params, slot: S, ctx: TransformContext): readonly [Params, S]
}

/**
 * A transform as a step-pipeline stage: maps `updates` (and its slot) of every state, keeping
 * the state's other fields and its type. It carries its pair as `transform`, so that wrappers
 * (`masked`, `perParameter`, `lookahead`, `chain`) can take it.
 */
export interface TransformOperator<S = unknown> {
  <T extends WithGradient>(source: Observable<T>): Observable<T>
  readonly transform: GradientTransform<S>
}

/** A pair, or anything carrying one (a transform operator, an optimizer). */
export type TransformLike<S = unknown> =
  GradientTransform<S> | { readonly transform: GradientTransform<S> }

/**
 * The stage-only field listing the slot names used so far in this step, newest last; a name
 * met twice is a duplicate. `applyUpdates` drops it with the other stage fields.
 */
export type Tracked = WithGradient & { readonly transforms?: readonly string[] }

/** The default slot name, or the user's, checked. */
export function slotName(fn: string, name: unknown): string {
  if (name === undefined) return fn
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`${fn}: name: expected a non-empty string, got ${show(name)}`)
  }
  return name
}

/** The pair inside a transform operator or optimizer (or the pair itself). */
export function toTransform<S = unknown>(
  fn: string,
  field: string,
  x: TransformLike<S> | unknown,
): GradientTransform<S> {
  const isPair = (y: unknown): y is GradientTransform =>
    typeof y === 'object' &&
    y !== null &&
    typeof (y as GradientTransform).name === 'string' &&
    typeof (y as GradientTransform).init === 'function' &&
    typeof (y as GradientTransform).update === 'function'
  if (isPair(x)) return x as GradientTransform<S>
  const inner = (x as { transform?: unknown } | null)?.transform
  if ((typeof x === 'function' || typeof x === 'object') && isPair(inner)) {
    return inner as GradientTransform<S>
  }
  throw new TypeError(
    `${fn}: ${field}: expected a gradient transform such as scaleByAdam() or an optimizer such as adam(1e-3), got ${show(x)}`,
  )
}

/** `{ b1: spec }` → `{ 'inner.b1': spec }`: how composites expose their children's hyperparameters. */
export function prefixHyper(
  prefix: string,
  hyper: { readonly [field: string]: HyperSpec },
): { [field: string]: HyperSpec } {
  const out: { [field: string]: HyperSpec } = {}
  for (const k of Object.keys(hyper)) out[`${prefix}.${k}`] = hyper[k]
  return out
}

/** The context a composite hands to a child exposed under `prefix` (see `prefixHyper`). */
export function childContext(
  ctx: TransformContext,
  prefix: string,
  params: Params,
): TransformContext {
  return { step: ctx.step, params, hyper: unprefixed(ctx.hyper, `${prefix}.`) }
}

/** The error of a slot name used twice in one step (by two transforms, or two `ema`s). */
export function duplicateSlot(name: string, what = 'transform'): Error {
  return new Error(
    `${name}: name: expected a slot name no other ${what} in this step uses, got ${show(name)} (pass { name } to tell them apart)`,
  )
}

/**
 * Deeply freezes plain data in place (records, arrays, tensor objects; a tensor's Float64Array
 * cannot be frozen and is never written to) and returns it. States are built as plain objects
 * and frozen rather than with immer, which costs microseconds a step (see src/state/freeze.ts).
 * The built-in transforms return their trees frozen already: the walk stops at the root.
 */
export function freezeData<T>(x: T): T {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x) || ArrayBuffer.isView(x)) return x
  for (const k of Object.keys(x)) freezeData((x as Record<string, unknown>)[k])
  return Object.freeze(x)
}

/** The slot of a chain: each child's slot under the child's name (stateless children omitted). */
export type ChainState = { readonly [child: string]: unknown }

/**
 * The pair behind `chain`: children applied in order, their slots kept in one record by
 * child name, their hyperparameters exposed as `child.field`. Used by the optimizers.
 */
export function chainTransform(
  fn: string,
  name: string,
  children: readonly GradientTransform[],
): GradientTransform<ChainState> {
  const seen = new Set<string>()
  for (const c of children) {
    if (seen.has(c.name)) {
      throw new Error(
        `${fn}: transforms: expected distinct slot names, got ${show(c.name)} twice (pass { name } to tell them apart)`,
      )
    }
    seen.add(c.name)
  }
  const hyper = Object.assign({}, ...children.map((c) => prefixHyper(c.name, c.hyper)))
  return {
    name,
    hyper,
    init: (params) => {
      const slots: Record<string, unknown> = {}
      for (const c of children) {
        const s = c.init(params)
        if (s !== undefined) slots[c.name] = s
      }
      return slots
    },
    // when every child's update is per-element, the engine runs them in its single loop
    update: chainPlan((updates: Params, slots: ChainState, ctx: TransformContext) => {
      let u: Params = updates
      const next: Record<string, unknown> = {}
      for (const c of children) {
        const [v, s] = c.update(u, slots[c.name], childContext(ctx, c.name, ctx.params))
        u = v
        if (s !== undefined) next[c.name] = s
      }
      return [u, next] as const
    }, children),
  }
}

/**
 * The options object of a function whose optional hyperparameters were once positional
 * (`scaleByRms(0.99, 1e-8, { epsInSqrt })`, kept working for one release): the positional
 * values, in `fields` order, over the options argument after them. An options object alone is
 * returned as it is (none is `{}`); it cannot be followed by more arguments.
 *
 * @throws {TypeError} `scaleByRms: options: expected one options object and nothing after it, got 1e-8`
 */
export function positionalOptions(
  fn: string,
  fields: readonly string[],
  args: readonly unknown[],
): unknown {
  const isValue = (a: unknown) =>
    typeof a === 'number' || typeof a === 'function' || isObservable(a)
  const first = args[0]
  if (!fields.some((_, i) => isValue(args[i]))) {
    const extra = args.slice(1).find((a) => a !== undefined)
    if (extra !== undefined) {
      throw new TypeError(
        `${fn}: options: expected one options object and nothing after it, got ${show(extra)}`,
      )
    }
    return first === undefined ? {} : first
  }
  const out: Record<string, unknown> = {}
  const rest = args[fields.length]
  if (typeof rest === 'object' && rest !== null) Object.assign(out, rest)
  else if (rest !== undefined) return rest // not an object: decodeOptions names it
  for (let i = 0; i < fields.length; i++) if (args[i] !== undefined) out[fields[i]] = args[i]
  return out
}
