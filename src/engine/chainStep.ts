import type { TrainState } from '../state/types.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import type { Params } from '../tree/tree.js'
import {
  addScaledRange,
  leafArrays,
  type LeafArrays,
  nextSlot,
  planOf,
  prepared,
  scaleRange,
} from './elementwise.js'
import type { StageRun } from './fusion.js'
import { hyperAt, hyperRecorder } from './hyperparams.js'
import { addScaled, frozenTree, type LeafSet, leavesOf } from './leaves.js'
import { steppedState, withSlots } from './state.js'
import { duplicateSlot, freezeData, type GradientTransform, type Tracked } from './transform.js'

/** Elements per chunk of the single pass (measured: 512 was much slower, whole leaves a little) */
const CHUNK = 1 << 14

const NO_TRANSFORMS: readonly string[] = Object.freeze([])
const EMPTY = new Float64Array(0)

/**
 * The pass's scratch, shared by every run (grown to the longest leaf seen): intermediate updates
 * only, never part of a state. A pass entered while another is running (a rule that runs a step
 * of its own) takes fresh arrays instead.
 */
const shared: Float64Array[] = [EMPTY, EMPTY]
let passing = false

/**
 * The per-step function of transforms `ts` applied in order, as a pipe of their operators
 * would apply them, for one run: hyperparameters resolved per step (an Observable is subscribed
 * once per run), slots initialised on first use, duplicate slot names rejected, each
 * hyperparameter recorded as `state.hyper['name.field']` (a field named `lr`, or ending in
 * `.lr`, as `state.lr` too).
 *
 * With `apply` it also ends the step as `applyUpdates` does. Then the transforms at the end of
 * the chain whose update is a per-element rule or a scaling (src/engine/elementwise.ts) run in
 * ONE pass over each leaf, chunk by chunk, together with θ + a·u: their intermediate updates
 * live in two scratch buffers of the run and are never built as trees; an ending scaling is
 * the `a` of θ + a·u. Each rule computes exactly what it computes alone, so the states are the
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
  const xs: (LeafArrays | null)[] = plans.map((p, j) =>
    p?.kind === 'rule' ? leafArrays(trees[j].length) : null,
  )
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
  const srcs: Float64Array[] = new Array(n).fill(EMPTY)
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
      const nested = passing
      const scratch = nested ? [EMPTY, EMPTY] : shared
      passing = true
      const [p, g] = theta.data
      const count = theta.count
      const qs = new Array<Float64Array>(count)
      const outs = trees.map((f) => f.map(() => new Array<Float64Array>(count)))
      try {
        for (let leaf = 0; leaf < count; leaf++) {
          const len = p[leaf].length
          if (scratch[0].length < len) {
            scratch[0] = new Float64Array(len)
            scratch[1] = new Float64Array(len)
          }
          const q = (qs[leaf] = uninitializedF64(len))
          // wire the pass: each transform reads what the one before wrote (scratch, alternating)
          let src = g[leaf]
          let w = 0
          for (let j = first; j < end; j++) {
            const dst = scratch[w]
            w ^= 1
            srcs[j] = src
            const x = xs[j]
            if (x !== null) {
              const data = sets[j]!.data
              x.g = src
              x.u = dst
              x.p = p[leaf]
              for (let m = 0; m < trees[j].length; m++) {
                x.slots[m] = data[m][leaf]
                x.next[m] = outs[j][m][leaf] = uninitializedF64(len)
              }
            }
            src = dst
          }
          for (let from = 0; from < len; from += CHUNK) {
            const to = from + CHUNK < len ? from + CHUNK : len
            for (let j = first; j < end; j++) {
              const x = xs[j]
              if (x === null) scaleRange(factors[j], srcs[j], scratch[(j - first) & 1], from, to)
              else
                (
                  plans[j] as { rule: (k: unknown, x: LeafArrays, f: number, t: number) => void }
                ).rule(ks[j], x, from, to)
            }
            addScaledRange(p[leaf], src, a, q, from, to)
          }
        }
      } finally {
        if (!nested) passing = false
      }
      params = theta.build(qs)
      for (let j = first; j < end; j++) {
        if (xs[j] === null) continue
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
