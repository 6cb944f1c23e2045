import type { TrainState } from '../state/types.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import type { Params } from '../tree/tree.js'
import { nextSlot, type Plan, planOf, prepared, slotRecord, unprefixed } from './elementwise.js'
import type { StageRun } from './fusion.js'
import { fixedAt, hyperAt, hyperRecorder } from './hyperparams.js'
import { type LazyData, markValue } from '../tensor/lazyData.js'
import { addScaled, frozenTree, leafSourcesOf } from './leaves.js'
import { type Member, passLoops } from './pass.js'
import { steppedState, withSlots } from './state.js'
import {
  duplicateSlot,
  freezeData,
  type GradientTransform,
  type Tracked,
  type TransformContext,
} from './transform.js'
import { residentPass } from './wasmPass.js'

const NO_TRANSFORMS: readonly string[] = Object.freeze([])
const arrayOf = (x: Float64Array | LazyData): Float64Array =>
  x instanceof Float64Array ? x : x.value()
const EMPTY = new Float64Array(0)

/**
 * The per-step function of transforms `ts` applied in order, as a pipe of their operators
 * would apply them, for one run: hyperparameters resolved per step (an Observable is subscribed
 * once per run), slots initialised on first use, duplicate slot names rejected, each
 * hyperparameter recorded as `state.hyper['name.field']` (a field named `lr`, or ending in
 * `.lr`, as `state.lr` too).
 *
 * With `apply` it also ends the step as `applyUpdates` does. Then the transforms at the end of
 * the chain whose update is a per-element rule or a scaling (src/engine/elementwise.ts) run in
 * ONE loop over each leaf, together with θ + a·u (src/engine/pass.ts): their intermediate
 * updates are never stored; an ending scaling is the `a` of θ + a·u. Each rule computes exactly what it computes alone, so the states are the
 * ones the cut pipe emits, bit for bit (test/operators/optimizers/fusedStage.test.ts). Errors
 * come in the cut pipe's order: each transform's hyperparameters, slot and shape checks in turn,
 * the arithmetic after all of them.
 */
export function chainStep(
  ts: readonly GradientTransform[],
  apply: boolean,
  run: StageRun,
  plan: ChainPlan = chainPlan(ts, apply),
): (s: Tracked) => object {
  const ats = plan.observed
    ? ts.map((t, j) => plan.keys[j].map((k) => hyperAt(t.hyper[k], run)))
    : (plan.fixed as readonly (readonly ((step: number) => number)[])[])
  if (apply && plan.n === 1 && plan.folds) return scalingStep(ts[0], ats[0], plan)
  if (plan.observed) return stepOf(ts, apply, plan, ats)
  return (plan.shared.step ??= sharedStep(ts, apply, plan, ats))
}

/**
 * The door for an optimizer wrapper (`multiSteps`): pair `t` run as the optimizer that ends a
 * step, through the plan that optimizer gets alone (`adam(η)`: its transforms and θ + a·u in one
 * pass, the resident pass on long leaves, θ′ and the slots left in its memory as lazy tensors;
 * `sgd(η)`: θ + a·u), on updates, a slot and parameters the wrapper holds. Returns θ′ and `t`'s
 * next slot, with the bits `θ + t.update(updates, slot, ctx)[0]` and that slot have. Its
 * hyperparameters are `ctx.hyper` (the wrapper resolved them), by `t`'s fields. One per
 * wrapper, shared by its runs as a chain's step is (`sharedStep`).
 */
export function optimizerStep(
  t: GradientTransform,
): (updates: Params, slot: unknown, ctx: TransformContext) => readonly [Params, unknown] {
  // an optimizer's pair is a chain: its transforms run as the optimizer runs them, the slot
  // (one record by child name) as their `state.opt`, `child.field` their hyperparameters
  const p = planOf(t.update)
  const flat = p?.kind === 'chain' ? (p.children as readonly GradientTransform[]) : null
  const ts = flat ?? [t]
  const plan = chainPlan(ts, true)
  let hyper: TransformContext['hyper'] = {}
  const ats = plan.keys.map((ks, j) =>
    ks.map((k) => {
      const key = flat === null ? k : `${ts[j].name}.${k}`
      return () => hyper[key]
    }),
  )
  const step =
    plan.n === 1 && plan.folds ? scalingStep(ts[0], ats[0], plan) : sharedStep(ts, true, plan, ats)
  const none = Object.freeze({})
  return (updates, slot, ctx) => {
    hyper = ctx.hyper
    const opt = flat !== null ? (slot ?? none) : slot === undefined ? none : { [t.name]: slot }
    const s = { step: ctx.step, params: ctx.params, updates, opt, hyper: none, grad: 0 }
    const out = step(s as unknown as Tracked) as TrainState
    return [out.params, flat !== null ? out.opt : out.opt[t.name]]
  }
}

/**
 * The step of a chain without an Observable hyperparameter, made once and shared by all its
 * runs (`of(state).pipe(momentum(η))` is a run per state): what a run keeps between steps is a
 * cache whose answers depend on its inputs only (the hyper record, the slot names), the rest is
 * scratch within a step. A step entered while another step of the chain is running (a
 * schedule or a rule that runs the same optimizer) gets a step of its own.
 */
function sharedStep(
  ts: readonly GradientTransform[],
  apply: boolean,
  plan: ChainPlan,
  ats: readonly (readonly ((step: number) => number)[])[],
): (s: Tracked) => object {
  const step = stepOf(ts, apply, plan, ats)
  let busy = false
  return (s) => {
    if (busy) return stepOf(ts, apply, plan, ats)(s)
    busy = true
    try {
      return step(s)
    } finally {
      busy = false
    }
  }
}

/** The step of chain `plan` with hyperparameter getters `ats` (see `chainStep`). */
function stepOf(
  ts: readonly GradientTransform[],
  apply: boolean,
  plan: ChainPlan,
  ats: readonly (readonly ((step: number) => number)[])[],
): (s: Tracked) => object {
  const { n, keys, isLr, names, plans, again, nodes, first, folds, end, from, inPass } = plan
  const record = plan.shared.record
  const loopFor = inPass.length > 0 ? passLoops(plan.rules, true, plan.trees) : null
  const wasm = inPass.length > 0 ? residentPass(plan.rules, plan.trees) : null
  const olds = inPass.map((m) => slotRecord(m.trees))
  const nexts = inPass.map((m) => slotRecord(m.trees))
  // the slots' leaves as they come (a lazy one, left by the resident pass, unread)
  const sources = inPass.map((m) => slotRecord(m.trees)) as Record<
    string,
    Float64Array | LazyData
  >[]
  // per step, per member of the pass: its constant (a factor or the rule's constants), what
  // `prepare` left for the slot, its leaves, and per tree, per leaf, its slot's arrays after
  // the step (filled during a step)
  const kPass: unknown[] = inPass.map(() => 0)
  /** per member, the inputs of its shape check, all left unread */
  const unread = inPass.map((m) => [...m.trees.keys(), m.trees.length, m.trees.length + 1])
  const rests: (object | undefined)[] = inPass.map(() => undefined)
  const sets: (ReturnType<typeof leafSourcesOf> | null)[] = inPass.map(() => null)
  const outs: (Float64Array | LazyData)[][][] = inPass.map(() => [])
  const slots: unknown[] = new Array(n)
  let a = 1
  /** this step's hyperparameter values, in `names`' order (doubles from the start: see hyperRecorder) */
  const values = new Float64Array(names.length)
  /** per transform of the pass, its hyper record, refilled each step (it never leaves the step) */
  const reused = keys.map(hyperRecord)
  let lastUsedIn: readonly string[] | undefined = undefined
  let lastUsedOut: readonly string[] = NO_TRANSFORMS
  let step = 0
  let params: Params = 0
  let updates: Params = 0

  /** A member's constants and shapes for this step, in the cut pipe's order (errors too). */
  function prepare(node: PassNode, slot: unknown, hyper: Hyper): void {
    if (node.kind === 'chain') {
      for (const c of node.children) {
        const sub = (slot as Record<string, unknown> | undefined)?.[c.name]
        prepare(c.node, sub, unprefixed(hyper, `${c.name}.`))
      }
      return
    }
    if (node.inner !== null) {
      prepare(
        node.inner,
        (slot as { inner?: unknown } | undefined)?.inner,
        unprefixed(hyper, 'inner.'),
      )
    }
    const m = node.m - from
    const member = inPass[m]
    if (member.plan.kind === 'scale') {
      kPass[m] = member.plan.factor(hyper)
      return
    }
    const plan = member.plan
    const [k, rest] = prepared(plan, slot, hyper, step)
    const inputs: Params[] = member.trees.map((f) => (slot as Record<string, Params>)[f])
    inputs.push(updates)
    if (plan.params === true) inputs.push(params)
    // the inputs left unread (their numbers are read where they lie)
    sets[m] = leafSourcesOf(member.name, inputs, unread[m])
    kPass[m] = k
    rests[m] = rest
  }

  /** A member's slot after the pass, as its transform's update would have returned it. */
  function nextOf(node: PassNode, slot: unknown): unknown {
    if (node.kind === 'chain') {
      const out: Record<string, unknown> = {}
      for (const c of node.children) {
        const sub = nextOf(c.node, (slot as Record<string, unknown> | undefined)?.[c.name])
        if (sub !== undefined) out[c.name] = sub
      }
      return out
    }
    const innerSlot =
      node.inner === null
        ? undefined
        : nextOf(node.inner, (slot as { inner?: unknown } | undefined)?.inner)
    const m = node.m - from
    const member = inPass[m]
    if (member.plan.kind === 'scale') return undefined
    const set = sets[m]!
    const built = member.trees.map((_, f) => set.build(outs[m][f]))
    const inner = node.inner === null ? undefined : member.plan.inner
    const next = nextSlot(slot, rests[m], member.trees, built, inner, innerSlot)
    sets[m] = null
    rests[m] = undefined
    kPass[m] = 0
    return next
  }

  return (s) => {
    step = s.step
    params = s.params
    const incoming = s.transforms ?? NO_TRANSFORMS
    updates = s.updates
    let opt: Record<string, unknown> | null = null
    let lr = s.lr
    let nv = 0
    for (let j = 0; j < n; j++) {
      const t = ts[j]
      if (again[j] || incoming.includes(t.name)) throw duplicateSlot(t.name)
      const hk = keys[j]
      const at = ats[j]
      const hyper: Record<string, number> = j >= first ? reused[j] : {}
      for (let q = 0; q < hk.length; q++) {
        const v = at[q](step)
        hyper[hk[q]] = v
        values[nv++] = v
        if (isLr[j][q]) lr = v
      }
      if (j >= end) {
        a = plans[j]!.kind === 'scale' ? (plans[j] as ScalePlan).factor(hyper) : 1
        continue
      }
      const plan = plans[j]
      const prev = plan?.kind === 'scale' ? undefined : (opt ?? s.opt)[t.name]
      const slot = prev === undefined && plan?.kind !== 'scale' ? t.init(s.params) : prev
      if (j < first) {
        const [u, next] = t.update(updates, slot, { step, params: s.params, hyper })
        updates = freezeData(u)
        if (next !== undefined) (opt ??= { ...s.opt })[t.name] = freezeData(next)
        continue
      }
      // the members of the pass: their constants now, their shapes checked now
      slots[j] = slot
      prepare(nodes[j]!, slot, hyper)
    }
    const hyper = names.length === 0 ? s.hyper : record(s.hyper, values)
    if (!apply) {
      const nextOpt = opt === null ? s.opt : Object.freeze(opt)
      // the slot names so far: the list built last step when the incoming one is the same
      if (s.transforms !== lastUsedIn || lastUsedOut === NO_TRANSFORMS) {
        lastUsedIn = s.transforms
        lastUsedOut = Object.freeze([...incoming, ...ts.map((t) => t.name)])
      }
      return withSlots(s, nextOpt, hyper, lr, 'updates', updates, 'transforms', lastUsedOut)
    }
    const scale = folds ? a : 1
    let next: Params
    if (first === end) next = addScaled(s.params, updates, scale)
    else {
      const theta = leafSourcesOf('applyUpdates', [s.params, updates], [0, 1])
      const [p, g] = theta.data
      const count = theta.count
      const qs = new Array<Float64Array | LazyData>(count)
      const loop = loopFor!(kPass)
      for (let m = 0; m < inPass.length; m++) {
        for (let f = 0; f < inPass[m].trees.length; f++) outs[m][f] = new Array(count)
      }
      for (let leaf = 0; leaf < count; leaf++) {
        const len = p[leaf].length
        for (let m = 0; m < inPass.length; m++) {
          const fs = inPass[m].trees
          const data = sets[m]?.data
          for (let f = 0; f < fs.length; f++) sources[m][fs[f]] = data![f][leaf]
        }
        // the resident pass leaves its outputs where it computed them, read on demand
        const lazy = wasm!.runLazy(leaf, kPass, sources, p[leaf], g[leaf], scale, len)
        if (lazy !== null) {
          qs[leaf] = lazy[0]
          for (let m = 0, x = 1; m < inPass.length; m++) {
            const fs = inPass[m].trees
            for (let f = 0; f < fs.length; f++) outs[m][f][leaf] = lazy[x++]
          }
          continue
        }
        for (let m = 0; m < inPass.length; m++) {
          const fs = inPass[m].trees
          const old = olds[m] as Record<string, Float64Array>
          const nx = nexts[m] as Record<string, Float64Array>
          const out = outs[m]
          for (let f = 0; f < fs.length; f++) {
            old[fs[f]] = arrayOf(sources[m][fs[f]])
            nx[fs[f]] = (out[f][leaf] = uninitializedF64(len)) as Float64Array
          }
        }
        // θ′ by the JavaScript loop: a value, never written again (the resident pass's are lazy),
        // so the next gradient call may leave its ∂W1 lazy without a copy of δ (lazyGradient.ts)
        const q = (qs[leaf] = markValue(uninitializedF64(len)))
        loop(kPass, olds, nexts, arrayOf(p[leaf]), arrayOf(g[leaf]), q, scale, len)
      }
      next = theta.build(qs)
      for (let j = first; j < end; j++) {
        const slot = nextOf(nodes[j]!, slots[j])
        slots[j] = undefined
        if (slot !== undefined) (opt ??= { ...s.opt })[ts[j].name] = freezeData(slot)
      }
      for (const o of outs) o.length = 0
    }
    updates = params = 0
    const nextOpt = opt === null ? s.opt : Object.freeze(opt)
    return steppedState(s, next, frozenTree(s.grad), lr, nextOpt, hyper as TrainState['hyper'])
  }
}

/**
 * What a chain's runs share, worked out once per chain (each run of the chain, e.g. each
 * subscription of `of(state).pipe(momentum(η))`, used to redo it): the hyperparameter names,
 * the plans, which transforms run in the single pass and its members.
 */
export interface ChainPlan {
  readonly n: number
  readonly keys: readonly (readonly string[])[]
  readonly isLr: readonly (readonly boolean[])[]
  /** `name.field` of every hyperparameter, in order */
  readonly names: readonly string[]
  readonly plans: readonly (Plan | undefined)[]
  /** a name met a second time in this chain */
  readonly again: readonly boolean[]
  readonly nodes: readonly (PassNode | null)[]
  /** the transforms from `first` on run in the single pass (only when applying) */
  readonly first: number
  /** the last transform is a scaling folded into θ + a·u's a */
  readonly folds: boolean
  /** the pass runs transforms [first, end) */
  readonly end: number
  /** the pass's members are members [from, from + inPass.length) */
  readonly from: number
  readonly inPass: readonly PassMember[]
  /** the pass's rules, and the trees of each member's slot (for `passLoop`) */
  readonly rules: readonly Member[]
  readonly trees: readonly (readonly string[])[]
  /** per transform, per field, its value getter when it needs no run (null: an Observable) */
  readonly fixed: readonly (readonly (((step: number) => number) | null)[])[]
  /** some hyperparameter is an Observable: each run subscribes and gets its own step */
  readonly observed: boolean
  /** what the runs of the chain share: the hyper recorder, and the step when not `observed` */
  readonly shared: { readonly record: HyperRecorder; step?: (s: Tracked) => object }
}

type HyperRecorder = ReturnType<typeof hyperRecorder>

/**
 * A record with fields `keys`, refilled at each step. Built field by field: a copy of one
 * template (`{ ...t }`) kept the template's first field kinds, and its first step's values
 * changed them, throwing W4's step out of optimised code in a later run.
 */
function hyperRecord(keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, 0]))
}

/** The plan of transforms `ts` (with `apply`: ending the step) for `chainStep`. */
export function chainPlan(ts: readonly GradientTransform[], apply: boolean): ChainPlan {
  const n = ts.length
  const keys = ts.map((t) => Object.keys(t.hyper))
  const isLr = keys.map((ks) => ks.map((k) => k === 'lr' || k.endsWith('.lr')))
  const names = ts.flatMap((t, j) => keys[j].map((k) => `${t.name}.${k}`))
  const plans = ts.map((t) => planOf(t.update))
  const again = ts.map((t, j) => ts.slice(0, j).some((u) => u.name === t.name))
  // the pass: the members (rules and scalings, wrapped and chained ones included) of the
  // transforms [first, end), in the order the cut pipe runs them
  const members: PassMember[] = []
  const nodes = plans.map((p, j) => (apply ? nodeOf(p, ts[j].name, '', members) : null))
  let first = n
  while (first > 0 && nodes[first - 1] !== null) first--
  const folds = first < n && plans[n - 1]!.kind === 'scale'
  const end = folds ? n - 1 : n
  const from = first < end ? firstMember(nodes[first]!) : 0
  const to = first < end ? lastMember(nodes[end - 1]!) + 1 : 0
  const inPass = members.slice(from, to)
  const fixed = ts.map((t, j) => keys[j].map((k) => fixedAt(t.hyper[k])))
  return {
    ...{ n, keys, isLr, names, plans, again, nodes, first, folds, end, from, inPass },
    rules: inPass.map((m) => m.rule),
    trees: inPass.map((m) => m.trees),
    fixed,
    observed: fixed.some((fs) => fs.includes(null)),
    shared: { record: hyperRecorder(names) },
  }
}

type Hyper = { readonly [field: string]: number }
type ScalePlan = Extract<Plan, { kind: 'scale' }>
type RulePlan = Extract<Plan, { kind: 'rule' }>

/** A rule or scaling of the pass: its plan, the name its shape errors use, its slot's trees. */
interface PassMember {
  readonly plan: ScalePlan | RulePlan
  readonly name: string
  readonly rule: Member
  readonly trees: readonly string[]
}

/**
 * How a transform's update runs in the pass: one member (a rule, after the members of its
 * `inner` transform if it has one) or a chain of children, each under its slot name.
 */
type PassNode =
  | { readonly kind: 'member'; readonly m: number; readonly inner: PassNode | null }
  | { readonly kind: 'chain'; readonly children: readonly { name: string; node: PassNode }[] }

/**
 * The node of an update with plan `plan` (its members appended to `members`), or null when
 * some part of it is not per-element (then the whole transform runs before the pass).
 */
function nodeOf(
  plan: Plan | undefined,
  name: string,
  path: string,
  members: PassMember[],
): PassNode | null {
  if (plan === undefined) return null
  if (plan.kind === 'chain') {
    if (plan.children.length === 0) return null
    const children: { name: string; node: PassNode }[] = []
    for (const c of plan.children) {
      const node = nodeOf(planOf(c.update), c.name, `${path}${c.name}.`, members)
      if (node === null) return null
      children.push({ name: c.name, node })
    }
    return { kind: 'chain', children }
  }
  let inner: PassNode | null = null
  if (plan.kind === 'rule' && plan.inner !== undefined) {
    inner = nodeOf(planOf(plan.inner.update), name, `${path}inner.`, members)
    if (inner === null) return null
  }
  const trees = plan.kind === 'rule' ? (plan.trees ?? []) : []
  const rule = plan.kind === 'rule' ? (plan.rule as Member) : null
  members.push({ plan, name, rule, trees })
  return { kind: 'member', m: members.length - 1, inner }
}

function firstMember(node: PassNode): number {
  if (node.kind === 'chain') return firstMember(node.children[0].node)
  return node.inner === null ? node.m : firstMember(node.inner)
}

function lastMember(node: PassNode): number {
  return node.kind === 'chain' ? lastMember(node.children[node.children.length - 1].node) : node.m
}

/**
 * The step of one scaling and the end of the step (`sgd(η)`, `update(η)`): θ + c·u and the
 * TrainState, nothing else. The loop's overhead on a small problem is mostly this function
 * (bench/loop.bench.ts), so it does only what the general step does for this chain. (A variant
 * resolving constants once per run measured slower on W4, 1.1–1.9× in four runs: not kept.)
 */
function scalingStep(
  t: GradientTransform,
  at: readonly ((step: number) => number)[],
  plan: ChainPlan,
): (s: Tracked) => object {
  const keys = plan.keys[0]
  const isLr = plan.isLr[0]
  const hyper = hyperRecord(keys)
  const record = plan.shared.record
  const { factor } = planOf(t.update) as { factor: (h: Record<string, number>) => number }
  const values = new Float64Array(keys.length)
  const name = t.name
  return (s) => {
    const used = s.transforms
    if (used !== undefined && used.includes(name)) throw duplicateSlot(name)
    let lr = s.lr
    for (let q = 0; q < keys.length; q++) {
      const v = at[q](s.step)
      hyper[keys[q]] = v
      values[q] = v
      if (isLr[q]) lr = v
    }
    const params = addScaled(s.params, s.updates, factor(hyper))
    const h = keys.length === 0 ? s.hyper : record(s.hyper, values)
    return steppedState(s, params, frozenTree(s.grad), lr, s.opt, h)
  }
}
