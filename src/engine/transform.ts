import type { Observable } from 'rxjs'
import { show } from '../errors.js'
import type { TrainState, WithGradient } from '../state/types.js'
import type { Params } from '../tree/tree.js'
import { stage, type StageRun } from './fusion.js'
import { hyperAt, type HyperSpec } from './hyperparams.js'
import { addScaled } from './leaves.js'
import { steppedState, withSlots } from './state.js'

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
  /**
   * Optional fused form of `update` followed by θ ← θ + a·u, which the optimizers use when
   * this transform makes their last updates: the new parameters (deeply frozen; structure
   * checked as `applyUpdates` checks it) and slot, in one pass, with the same arithmetic in the
   * same order as `update` then `params + a·updates` (so the same bits).
   */
  applyTo?(
    params: Params,
    updates: Params,
    slot: S,
    ctx: TransformContext,
    a: number,
    c?: number,
  ): readonly [Params, S]
  /**
   * True when `applyTo` also takes `c` and reads the updates as c·u, computed per element
   * (what a `scaleByLearningRate` before it would have stored, c = −η): the optimizers then
   * fold a leading scaleByLearningRate (momentum's) into the same pass.
   */
  readonly prescales?: boolean
  /**
   * True when `update` is exactly u ↦ −η·u with η = `hyper[lrField]` and no slot
   * (scaleByLearningRate): an optimizer ending with it computes θ + (−η)·u directly, which is
   * the same number as θ + (−η·u).
   */
  readonly scalesByLr?: boolean
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

const NO_TRANSFORMS: readonly string[] = Object.freeze([])

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

/**
 * The per-step function of transforms `ts` applied in order (as a pipe of their operators
 * would), for one run: hyperparameters resolved per step through `hyperAt` (an Observable is
 * subscribed once per run), slots initialised on first use, duplicate slot names rejected, and
 * each transform's `state.hyper['name.field']` (and `state.lr`) recorded. With `apply`, it
 * also ends the step as `applyUpdates` does and returns its TrainState; then the last updates
 * are never built: an ending `scaleByLearningRate` folds into θ + (−η)·u, and the transform
 * before it (or the last one) runs its fused `applyTo` when it has one.
 *
 * No whole-state spread on the optimizer path: its TrainState is built field by field, and the
 * `hyper` record it emitted last step is reused while the incoming record and the values are
 * the same (in a steady run: every step).
 */
function transformsStep(
  ts: readonly GradientTransform[],
  apply: boolean,
  run: StageRun,
): (s: Tracked) => object {
  const n = ts.length
  const keys = ts.map((t) => Object.keys(t.hyper))
  const ats = ts.map((t, j) => keys[j].map((k) => hyperAt(t.hyper[k], run)))
  const hyperNames = ts.map((t, j) => keys[j].map((k) => `${t.name}.${k}`))
  const folds = apply && n > 0 && ts[n - 1].scalesByLr === true
  /** the transform whose updates θ receives (−1: the state's own updates) */
  const applier = !apply ? -1 : folds ? n - 2 : n - 1
  /** a leading scaleByLearningRate read by the applier as c·u (momentum: −η·g, then v) */
  const leads =
    applier === 1 &&
    ts[0].scalesByLr === true &&
    ts[1].applyTo !== undefined &&
    ts[1].prescales === true
  let lastUsedIn: readonly string[] | undefined = undefined
  let lastUsedOut: readonly string[] | null = null
  let lastIn: object | null = null
  let lastOut: TrainState['hyper'] | null = null
  const lastValues: number[] = []
  const values: number[] = []

  return (s) => {
    const step = s.step
    let used = s.transforms ?? NO_TRANSFORMS
    let updates = s.updates
    let opt: Record<string, unknown> | null = null
    let lr = s.lr
    let params: Params | null = null
    let a = 1
    let c = 1
    values.length = 0
    // pending: the applier, run after the transforms behind it have resolved their values
    let pending: (() => void) | null = null
    for (let j = 0; j < n; j++) {
      const t = ts[j]
      try {
        if (used.includes(t.name)) throw duplicateSlot(t.name)
        used = [...used, t.name]
        const hyper: Record<string, number> = {}
        const at = ats[j]
        const ks = keys[j]
        for (let k = 0; k < ks.length; k++) {
          const v = at[k](step)
          hyper[ks[k]] = v
          values.push(v)
        }
        if (t.lrField !== undefined) lr = hyper[t.lrField]
        if (folds && j === n - 1) {
          a = -hyper[t.lrField!]
          continue
        }
        if (leads && j === 0) {
          c = -hyper[t.lrField!]
          continue
        }
        const prev = (opt ?? s.opt)[t.name]
        const slot = prev === undefined ? t.init(s.params) : prev
        const ctx: TransformContext = { step, params: s.params, hyper }
        if (j === applier) {
          pending = () => {
            const [p, next] =
              t.applyTo !== undefined
                ? t.applyTo(s.params, updates, slot, ctx, a, c)
                : (() => {
                    const [u, nx] = t.update(updates, slot, ctx)
                    return [addScaled(s.params, freezeData(u), a), nx] as const
                  })()
            params = p
            if (next !== undefined) (opt ??= { ...s.opt })[t.name] = freezeData(next)
          }
          continue
        }
        const [u, next] = t.update(updates, slot, ctx)
        updates = freezeData(u)
        if (next !== undefined) (opt ??= { ...s.opt })[t.name] = freezeData(next)
      } catch (e) {
        // the applier's own error came first in the unfused pipe
        if (pending !== null) pending()
        throw e
      }
    }
    if (pending !== null) pending()
    // the hyper record: reused when it would be equal. Either it is the one built last step
    // from the same incoming record and values, or the incoming record already holds these
    // values under these names (then spreading it and setting them changes nothing, not even
    // the key order): after the first steps, every transform of a pipe reuses its input's.
    let hyper: TrainState['hyper']
    const h = s.hyper
    if ((h === lastIn || h === lastOut) && sameValues(values, lastValues)) hyper = lastOut!
    else {
      if (holds(h, hyperNames, values) && Object.isFrozen(h)) hyper = h
      else {
        const out: Record<string, number> = { ...h }
        let q = 0
        for (let j = 0; j < n; j++) {
          const names = hyperNames[j]
          for (let k = 0; k < names.length; k++) out[names[k]] = values[q++]
        }
        hyper = Object.freeze(out)
      }
      lastIn = h
      lastOut = hyper
      lastValues.length = 0
      for (let k = 0; k < values.length; k++) lastValues.push(values[k])
    }
    const nextOpt = opt === null ? s.opt : Object.freeze(opt)
    if (!apply) {
      // the slot names so far: the list built last step when the incoming one is the same
      let names: readonly string[]
      if (s.transforms === lastUsedIn && lastUsedOut !== null) names = lastUsedOut
      else {
        names = Object.freeze(used)
        lastUsedIn = s.transforms
        lastUsedOut = names
      }
      return withSlots(s, nextOpt, hyper, lr, 'updates', updates, 'transforms', names)
    }
    return steppedState(
      s,
      params ?? addScaled(s.params, updates, a),
      freezeData(s.grad),
      lr,
      nextOpt,
      hyper,
    )
  }
}

/** Whether `h` records `values` under `names` (in order), by Object.is. */
function holds(
  h: { readonly [k: string]: number },
  names: readonly (readonly string[])[],
  values: readonly number[],
): boolean {
  let q = 0
  for (let j = 0; j < names.length; j++) {
    const ns = names[j]
    for (let k = 0; k < ns.length; k++) {
      if (!Object.hasOwn(h, ns[k]) || !Object.is(h[ns[k]], values[q++])) return false
    }
  }
  return true
}

function sameValues(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false
  return true
}

/**
 * Transforms `ts` then `applyUpdates()` as ONE fusible stage (see src/engine/fusion.ts): what
 * `pipe(...ts operators, applyUpdates())` computes, state for state and bit for bit, in one
 * hop and without the intermediate updates of its last transforms.
 */
export function applyingStage(ts: readonly GradientTransform[]) {
  return <P extends Params>(source: Observable<WithGradient<P>>): Observable<TrainState<P>> =>
    stage<WithGradient<P>, TrainState<P>>(
      (run) => transformsStep(ts, true, run) as (s: WithGradient<P>) => TrainState<P>,
    )(source)
}

/**
 * Turns a transform pair into a step-pipeline operator. Per state: resolves the pair's
 * hyperparameters at `state.step` and records each as `state.hyper['name.field']` (and
 * `state.lr` for the `lrField`), initialises `state.opt[name]` from `state.params` when it is
 * absent (first step, not after a resume), rejects a slot name already used in this step,
 * then stores the new `updates` and slot. It is a fusible stage: piped after `gradient` (or
 * another stage) it runs in the same hop.
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
  const ts = [t as GradientTransform]
  const op = <T extends WithGradient>(source: Observable<T>): Observable<T> =>
    stage<T, T>((run) => transformsStep(ts, false, run) as (s: T) => T)(source)
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
