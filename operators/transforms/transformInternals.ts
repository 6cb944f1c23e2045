import type { Observable } from 'rxjs'
import { show } from '../../src/errors.js'
import type { WithGradient } from '../../src/state/types.js'
import type { Params } from '../../src/tree/tree.js'
import { type HyperSpec, withHyperparams } from '../hyperparamInternals.js'

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
 * A gradient transform as a pair of pure functions (optax's `GradientTransformation`): `init`
 * builds its slot from the parameters' structure, `update` maps this step's updates and slot
 * to new updates and a new slot. The slot is plain data (numbers, tensors, arrays, records),
 * stored at `state.opt[name]`; a stateless transform returns `undefined` and gets no slot.
 */
export interface GradientTransform<S = unknown> {
  /** the slot name: key of `state.opt` and prefix of its `state.hyper` entries */
  readonly name: string
  /** hyperparameters resolved at each step and handed to `update` by field */
  readonly hyper: { readonly [field: string]: HyperSpec }
  /** the hyperparameter field that is recorded as `state.lr` too (scaleByLearningRate's) */
  readonly lrField?: string
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

/**
 * Checks an options argument when an operator is built: an object (or undefined) with no key
 * outside `known`, so that a misspelt option (`beta1` for `b1`) is an error, not a default.
 *
 * @throws {TypeError} `scaleByAdam: options.beta1: expected no such key (known: b1, b2, eps, efficient, name), got 0.9`
 */
export function checkOptions(
  fn: string,
  options: unknown,
  known: readonly string[],
  field = 'options',
): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${fn}: ${field}: expected an object, got ${show(options)}`)
  }
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new TypeError(
        `${fn}: ${field}.${k}: expected no such key (known: ${known.join(', ')}), got ${show((options as Record<string, unknown>)[k])}`,
      )
    }
  }
}

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
  const hyper: Record<string, number> = {}
  const p = `${prefix}.`
  for (const k of Object.keys(ctx.hyper))
    if (k.startsWith(p)) hyper[k.slice(p.length)] = ctx.hyper[k]
  return { step: ctx.step, params, hyper }
}

/** One transform applied to one state: slot init on first use, duplicate check, records. */
function step<S>(
  t: GradientTransform<S>,
  s: Tracked,
  values: { readonly [k: string]: number },
): Tracked {
  const used = s.transforms ?? []
  if (used.includes(t.name)) {
    throw new Error(
      `${t.name}: name: expected a slot name no other transform in this step uses, got ${show(t.name)} (pass { name } to tell them apart)`,
    )
  }
  const prev = s.opt[t.name] as S | undefined
  const slot = prev === undefined ? t.init(s.params) : prev
  const [updates, next] = t.update(s.updates, slot, {
    step: s.step,
    params: s.params,
    hyper: values,
  })
  const hyper: Record<string, number> = { ...s.hyper }
  for (const k of Object.keys(values)) hyper[`${t.name}.${k}`] = values[k]
  return Object.freeze({
    ...s,
    updates: freezeData(updates) as Params,
    opt: next === undefined ? s.opt : Object.freeze({ ...s.opt, [t.name]: freezeData(next) }),
    hyper: Object.freeze(hyper),
    lr: t.lrField === undefined ? s.lr : values[t.lrField],
    transforms: Object.freeze([...used, t.name]),
  })
}

/**
 * Deeply freezes plain data in place (records, arrays, tensor objects; a tensor's Float64Array
 * cannot be frozen and is never written to) and returns it. States are built as plain objects
 * and frozen rather than with immer, which costs microseconds a step (see src/state/freeze.ts).
 */
export function freezeData<T>(x: T): T {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x) || ArrayBuffer.isView(x)) return x
  for (const k of Object.keys(x)) freezeData((x as Record<string, unknown>)[k])
  return Object.freeze(x)
}

/**
 * Turns a transform pair into a step-pipeline operator. Per state: resolves the pair's
 * hyperparameters at `state.step` and records each as `state.hyper['name.field']` (and
 * `state.lr` for the `lrField`), initialises `state.opt[name]` from `state.params` when it is
 * absent (first step, not after a resume), rejects a slot name already used in this step,
 * then stores the new `updates` and slot.
 *
 * @example
 * ```ts
 * const halve = asOperator({ name: 'halve', hyper: {}, init: () => undefined,
 *   update: (u) => [mapTree(u, (v) => v / 2), undefined] })
 * of(withGradientState).pipe(halve) // updates halved
 * ```
 * @throws {Error} `scaleByAdam: name: expected a slot name no other transform in this step uses, got "scaleByAdam" (pass { name } to tell them apart)`
 */
export function asOperator<S>(t: GradientTransform<S>): TransformOperator<S> {
  const op = <T extends WithGradient>(source: Observable<T>): Observable<T> =>
    source.pipe(
      withHyperparams(
        t.hyper,
        (s: T) => s.step,
        (s, values) => step(t, s as Tracked, values) as unknown as T,
      ),
    )
  return Object.assign(op, { transform: t })
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
  const withLr = children.filter((c) => c.lrField !== undefined)
  const last = withLr[withLr.length - 1]
  return {
    name,
    hyper,
    lrField: last === undefined ? undefined : `${last.name}.${last.lrField}`,
    init: (params) => {
      const slots: Record<string, unknown> = {}
      for (const c of children) {
        const s = c.init(params)
        if (s !== undefined) slots[c.name] = s
      }
      return slots
    },
    update: (updates, slots, ctx) => {
      let u: Params = updates
      const next: Record<string, unknown> = {}
      for (const c of children) {
        const [v, s] = c.update(u, slots[c.name], childContext(ctx, c.name, ctx.params))
        u = v
        if (s !== undefined) next[c.name] = s
      }
      return [u, next]
    },
  }
}
