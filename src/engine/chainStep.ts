import type { TrainState } from '../state/types.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import type { Params } from '../tree/tree.js'
import { nextSlot, planOf, prepared, slotRecord } from './elementwise.js'
import type { StageRun } from './fusion.js'
import { hyperAt, hyperRecorder } from './hyperparams.js'
import { addScaled, frozenTree, type LeafSet, leavesOf } from './leaves.js'
import { type LeafSlots, type Member, passLoop } from './pass.js'
import { steppedState, withSlots } from './state.js'
import { duplicateSlot, freezeData, type GradientTransform, type Tracked } from './transform.js'

const NO_TRANSFORMS: readonly string[] = Object.freeze([])
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
): (s: Tracked) => object {
  const n = ts.length
  const keys = ts.map((t) => Object.keys(t.hyper))
  const ats = ts.map((t, j) => keys[j].map((k) => hyperAt(t.hyper[k], run)))
  const isLr = keys.map((ks) => ks.map((k) => k === 'lr' || k.endsWith('.lr')))
  const names = ts.flatMap((t, j) => keys[j].map((k) => `${t.name}.${k}`))
  const record = hyperRecorder(names)
  const plans = ts.map((t) => planOf(t.update))
  /** a name met a second time in this chain */
  const again = ts.map((t, j) => ts.slice(0, j).some((u) => u.name === t.name))
  /** the transforms from `first` on run in the single pass (only when applying) */
  let first = n
  if (apply) while (first > 0 && plans[first - 1] !== undefined) first--
  const folds = first < n && plans[n - 1]!.kind === 'scale'
  /** the pass runs transforms [first, end); a folded scaling is θ + a·u's a */
  const end = folds ? n - 1 : n
  const trees = plans.map((p) => (p?.kind === 'rule' ? (p.trees ?? []) : []))
  // the pass's members [first, end), their constants and slot arrays at the current leaf
  const members: Member[] = []
  for (let j = first; j < end; j++) {
    const plan = plans[j]!
    members.push(plan.kind === 'rule' ? plan.rule : null)
  }
  const loop = first < end ? passLoop(members, true) : null
  const olds = members.map((_, m) => slotRecord(trees[first + m]))
  const nexts = members.map((_, m) => slotRecord(trees[first + m]))
  const kPass: unknown[] = members.map(() => 0)
  // per step, per transform of the pass
  const ks: unknown[] = new Array(n)
  const rests: (object | undefined)[] = new Array(n)
  const slots: unknown[] = new Array(n)
  const sets: (LeafSet | null)[] = new Array(n).fill(null)
  const factors: number[] = new Array(n).fill(1)
  const values: number[] = []
  /** per transform of the pass, its hyper record, refilled each step (it never leaves the step) */
  const reused = keys.map(
    (ks) => Object.fromEntries(ks.map((k) => [k, 0])) as Record<string, number>,
  )
  if (apply && n === 1 && folds)
    return scalingStep(ts[0], ats[0], keys[0], isLr[0], reused[0], record)
  let lastUsedIn: readonly string[] | undefined = undefined
  let lastUsedOut: readonly string[] = NO_TRANSFORMS

  return (s) => {
    const step = s.step
    const incoming = s.transforms ?? NO_TRANSFORMS
    let updates = s.updates
    let opt: Record<string, unknown> | null = null
    let lr = s.lr
    values.length = 0
    for (let j = 0; j < n; j++) {
      const t = ts[j]
      if (again[j] || incoming.includes(t.name)) throw duplicateSlot(t.name)
      const hk = keys[j]
      const at = ats[j]
      const hyper: Record<string, number> = j >= first ? reused[j] : {}
      for (let q = 0; q < hk.length; q++) {
        const v = at[q](step)
        hyper[hk[q]] = v
        values.push(v)
        if (isLr[j][q]) lr = v
      }
      const plan = plans[j]
      if (j >= first && plan!.kind === 'scale') {
        factors[j] = plan!.factor(hyper)
        continue
      }
      const prev = (opt ?? s.opt)[t.name]
      const slot = prev === undefined ? t.init(s.params) : prev
      if (j < first) {
        const [u, next] = t.update(updates, slot, { step, params: s.params, hyper })
        updates = freezeData(u)
        if (next !== undefined) (opt ??= { ...s.opt })[t.name] = freezeData(next)
        continue
      }
      // a rule of the pass: its constants now, its shapes checked now (in the cut pipe's order)
      const rule = plan as Exclude<typeof plan, undefined | { kind: 'scale' }>
      const [k, rest] = prepared(rule, slot, hyper, step)
      const inputs: Params[] = trees[j].map((f) => (slot as Record<string, Params>)[f])
      inputs.push(updates)
      if (rule.params === true) inputs.push(s.params)
      sets[j] = leavesOf(t.name, inputs)
      ks[j] = k
      rests[j] = rest
      slots[j] = slot
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
    const a = folds ? factors[n - 1] : 1
    let params: Params
    if (first === end) params = addScaled(s.params, updates, a)
    else {
      const theta = leavesOf('applyUpdates', [s.params, updates])
      const [p, g] = theta.data
      const count = theta.count
      const qs = new Array<Float64Array>(count)
      const outs = trees.map((f) => f.map(() => new Array<Float64Array>(count)))
      for (let j = first; j < end; j++)
        kPass[j - first] = plans[j]!.kind === 'scale' ? factors[j] : ks[j]
      for (let leaf = 0; leaf < count; leaf++) {
        const len = p[leaf].length
        for (let j = first; j < end; j++) {
          const fs = trees[j]
          if (fs.length === 0) continue
          const data = sets[j]!.data
          const old = olds[j - first] as Record<string, Float64Array>
          const next = nexts[j - first] as Record<string, Float64Array>
          for (let m = 0; m < fs.length; m++) {
            old[fs[m]] = data[m][leaf]
            next[fs[m]] = outs[j][m][leaf] = uninitializedF64(len)
          }
        }
        qs[leaf] = uninitializedF64(len)
        loop!(kPass, olds as LeafSlots[], nexts as LeafSlots[], p[leaf], g[leaf], qs[leaf], a, len)
      }
      for (let m = 0; m < members.length; m++) kPass[m] = 0
      params = theta.build(qs)
      for (let j = first; j < end; j++) {
        if (plans[j]!.kind === 'scale') continue
        const built = outs[j].map((o) => sets[j]!.build(o))
        const next = nextSlot(slots[j], rests[j], trees[j], built)
        if (next !== undefined) (opt ??= { ...s.opt })[ts[j].name] = freezeData(next)
        sets[j] = null
        slots[j] = undefined
        ks[j] = undefined
      }
    }
    const nextOpt = opt === null ? s.opt : Object.freeze(opt)
    return steppedState(s, params, frozenTree(s.grad), lr, nextOpt, hyper as TrainState['hyper'])
  }
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
  keys: readonly string[],
  isLr: readonly boolean[],
  hyper: Record<string, number>,
  record: (h: TrainState['hyper'], values: readonly number[]) => TrainState['hyper'],
): (s: Tracked) => object {
  const { factor } = planOf(t.update) as { factor: (h: Record<string, number>) => number }
  const values = keys.map(() => 0)
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
