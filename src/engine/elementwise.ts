import { uninitializedF64 } from '../tensor/uninitialized.js'
import { ElementwiseSpecC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import type { Params } from '../tree/tree.js'
import { leavesOf } from './leaves.js'
import { type ElementRule, type LeafSlots, passLoops } from './pass.js'
import { scaledTree } from './scaledLeaves.js'

export type { ElementRule, LeafSlots } from './pass.js'

// A transform whose rule is the same for every coordinate states it ONCE, for one element
// (`ElementRule`): what the update at index i is, and what it writes into its slot's arrays at
// i. The engine owns the loop (src/engine/pass.ts): alone (the transform's `update`: whole
// leaves, fresh arrays) or inside an optimizer's single pass, where the rules of a chain and the
// final θ + a·u run as ONE loop over each leaf, each rule computing exactly what it computes
// alone, so with the same bits. A scaling (u ↦ c·u) is a rule the engine knows the algebra of:
// at the end of a step it folds into θ + c·u.

/** What `elementwise` takes. */
export interface ElementwiseRule<S, K> {
  /** the slot fields that are trees of the parameters' structure (`['mu', 'nu']`) */
  readonly trees?: readonly string[]
  /** the rule reads the parameters (`p`) */
  readonly params?: boolean
  /**
   * Once per step, before the loops: the rule's constants and the slot's other fields after
   * the step (`[{ b1, c1 }, { count: t }]`). Default: the hyperparameters, the slot's other
   * fields unchanged.
   */
  readonly prepare?: (
    slot: S,
    hyper: { readonly [field: string]: number },
    step: number,
  ) => readonly [K, Partial<S>?]
  readonly rule: ElementRule<K>
  /**
   * A transform (or optimizer's pair, `adam(1e-3).transform`) that runs first: the rule then
   * takes its updates in place of the incoming ones. Its slot is this slot's `inner` field and
   * its hyperparameters this transform's `inner.<field>` ones, at the same step; how a wrapper
   * holds an optimizer (`scheduleFree`). When its own updates are per-element too, it runs in
   * the same loop.
   */
  readonly inner?: { readonly update: Update<unknown> }
}

type Hyper = { readonly [f: string]: number }

/** How the engine sees a transform's update. */
export type Plan =
  | { readonly kind: 'scale'; readonly factor: (hyper: Hyper) => number }
  | ({ readonly kind: 'rule' } & ElementwiseRule<unknown, unknown>)
  | {
      readonly kind: 'chain'
      readonly children: readonly { readonly name: string; readonly update: unknown }[]
    }

type Update<S> = (
  updates: Params,
  slot: S,
  ctx: { readonly step: number; readonly params: Params; readonly hyper: Hyper },
) => readonly [Params, S]

/** `{ 'inner.b1': v }` → `{ b1: v }`: the hyperparameters a child exposed under `prefix` sees. */
export function unprefixed(hyper: Hyper, prefix: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const k of Object.keys(hyper))
    if (k.startsWith(prefix)) out[k.slice(prefix.length)] = hyper[k]
  return out
}

/**
 * Marks `update` as the update of a chain of `children` (applied in order, their slots by
 * name, their hyperparameters as `child.field`), so that the engine can run their rules in
 * its single loop.
 */
export function chainPlan<U extends (...args: never[]) => unknown>(
  update: U,
  children: readonly { readonly name: string; readonly update: unknown }[],
): U {
  plans.set(update, { kind: 'chain', children })
  return update
}

const plans = new WeakMap<object, Plan>()

/** The plan behind an update made by `elementwise` or `scaling` (undefined for any other). */
export function planOf(update: unknown): Plan | undefined {
  return typeof update === 'function' ? plans.get(update) : undefined
}

/**
 * A transform's `update` from its per-element rule: the engine runs the rule on whole leaves
 * when the transform runs alone, and in the optimizer's single pass otherwise.
 *
 * @example
 * ```ts
 * import { elementwise, gradientTransform } from 'gradstream/operators'
 *
 * // u = g / (|g| + δ): a soft sign, for one element
 * const softSign = (delta: number, g: number) => g / (Math.abs(g) + delta)
 * const op = gradientTransform({
 *   name: 'softSign',
 *   hyper: { delta: 0.1 },
 *   update: elementwise({ prepare: (_, { delta }) => [delta], rule: softSign }),
 * })
 * console.log(op.transform.name) // → softSign
 * ```
 */
export function elementwise<S, K>(spec: ElementwiseRule<S, K>): Update<S> {
  decodeOptions(ElementwiseSpecC, spec, 'elementwise', 'spec')
  return bindRule(spec as ElementwiseRule<unknown, unknown>, 'elementwise') as Update<S>
}

/**
 * The update u ↦ c·u with c = `factor(hyper)`, a rule whose algebra the engine knows: at the
 * end of a step it is the a of θ + a·u (no pass of its own), elsewhere one multiplication (on a
 * long leaf made when first read, so that a line search after it reads c·u from u).
 *
 * @example
 * ```ts
 * import { gradientTransform, scaling } from 'gradstream/operators'
 *
 * // u ↦ −η·u, as scaleByLearningRate is written
 * const descend = gradientTransform({
 *   name: 'descend',
 *   hyper: { lr: 0.1 },
 *   update: scaling(({ lr }) => -lr),
 * })
 * console.log(Object.keys(descend.transform.hyper)) // → [ 'lr' ]
 * ```
 */
export function scaling(
  factor: (hyper: { readonly [f: string]: number }) => number,
): Update<undefined> {
  // alone (not in a pass), long leaves are scaled when first read: src/engine/scaledLeaves.ts
  const update: Update<undefined> = (u, _, { hyper }) => [scaledTree(u, factor(hyper)), undefined]
  plans.set(update, { kind: 'scale', factor })
  return update
}

/** The same update, its shape errors naming `fn` (the transform's name). */
export function bindPlan<S>(update: Update<S>, fn: string): Update<S> {
  const plan = plans.get(update)
  if (plan === undefined || plan.kind !== 'rule') return update
  return bindRule(plan, fn) as Update<S>
}

function bindRule(spec: ElementwiseRule<unknown, unknown>, fn: string): Update<unknown> {
  const plan: Plan = { kind: 'rule', ...spec }
  const trees = spec.trees ?? []
  const nt = trees.length
  const members = [spec.rule]
  const loopFor = passLoops(members, false, [trees])
  const { inner } = spec
  const update: Update<unknown> = (incoming, slot, ctx) => {
    const s = slot as Record<string, Params>
    let u = incoming
    let innerSlot: unknown
    if (inner !== undefined) {
      const innerCtx = {
        step: ctx.step,
        params: ctx.params,
        hyper: unprefixed(ctx.hyper, 'inner.'),
      }
      ;[u, innerSlot] = inner.update(u, s.inner, innerCtx)
    }
    const [k, rest] = prepared(plan, slot, ctx.hyper, ctx.step)
    const inputs: Params[] = trees.map((f) => s[f])
    inputs.push(u)
    if (spec.params === true) inputs.push(ctx.params)
    const leaves = leavesOf(fn, inputs)
    const uOut = new Array<Float64Array>(leaves.count)
    const nextOut = trees.map(() => new Array<Float64Array>(leaves.count))
    const old = slotRecord(trees)
    const next = slotRecord(trees)
    const ks = [k]
    const loop = loopFor(ks)
    const olds = [old]
    const nexts = [next]
    for (let j = 0; j < leaves.count; j++) {
      const g = leaves.data[nt][j]
      const len = g.length
      for (let m = 0; m < nt; m++) {
        old[trees[m]] = leaves.data[m][j]
        next[trees[m]] = nextOut[m][j] = uninitializedF64(len)
      }
      const p = spec.params === true ? leaves.data[nt + 1][j] : EMPTY
      loop(ks, olds, nexts, p, g, (uOut[j] = uninitializedF64(len)), 1, len)
    }
    const built = nextOut.map((o) => leaves.build(o))
    return [leaves.build(uOut), nextSlot(slot, rest, trees, built, inner, innerSlot)]
  }
  plans.set(update, plan)
  return update
}

const EMPTY = new Float64Array(0)

/** A record of a slot's tree fields at one leaf, filled leaf by leaf (one shape per rule). */
export function slotRecord(trees: readonly string[]): Record<string, Float64Array> {
  const r: Record<string, Float64Array> = {}
  for (const f of trees) r[f] = EMPTY
  return r
}

/** The rule's constants and the slot's other fields for this step. */
export function prepared(
  plan: ElementwiseRule<unknown, unknown>,
  slot: unknown,
  hyper: { readonly [f: string]: number },
  step: number,
): readonly [unknown, object | undefined] {
  if (plan.prepare === undefined) return [hyper, undefined]
  const [k, rest] = plan.prepare(slot, hyper, step)
  return [k, rest as object | undefined]
}

/**
 * The slot after the step: the old slot's fields, then `rest`, then the new trees, then (for a
 * rule with an `inner` transform) its slot as `inner` (a slot that is undefined and has no
 * trees stays undefined). Frozen, except around an inner slot: the engine's deep freeze then
 * reaches it.
 */
export function nextSlot(
  slot: unknown,
  rest: object | undefined,
  trees: readonly string[],
  built: readonly Params[],
  inner?: unknown,
  innerSlot?: unknown,
): unknown {
  if (trees.length === 0 && rest === undefined && inner === undefined) return slot
  const out: Record<string, unknown> = typeof slot === 'object' && slot !== null ? { ...slot } : {}
  if (rest !== undefined) Object.assign(out, rest)
  for (let m = 0; m < trees.length; m++) out[trees[m]] = built[m]
  if (inner === undefined) return Object.freeze(out)
  out.inner = innerSlot
  return out
}
