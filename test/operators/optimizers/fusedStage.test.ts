import fc from 'fast-check'
import {
  BehaviorSubject,
  map,
  type Observable,
  type OperatorFunction,
  pipe,
  Subject,
  toArray,
  VirtualTimeScheduler,
} from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  chunked,
  mapTree,
  tensor,
  train,
  TrainError,
  type TrainState,
  type WithGradient,
} from 'gradstream'
import {
  adabelief,
  adagrad,
  adam,
  adamw,
  addDecayedWeights,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  clipByValue,
  elementwise,
  gradient,
  gradientTransform,
  type GradientTransform,
  lion,
  maxSteps,
  momentum,
  nesterov,
  rmsprop,
  scale,
  scaleByAdagrad,
  scaleByAdam,
  scaleByBelief,
  scaleByLearningRate,
  scaleByLion,
  scaleByMomentum,
  scaleByNesterov,
  scaleByRms,
  scheduleFree,
  sgd,
} from 'gradstream/operators'
import { FusedStages } from '../../../src/engine/fusion.js'
import { setPassCodegen } from '../../../src/engine/pass.js'
import { template, type TreeT, treesLike } from '../transforms/fixture.js'

// An optimizer is ONE fused stage (src/engine/stages.ts, src/engine/chainStep.ts): its
// per-element rules run in one loop with θ + a·u (src/engine/pass.ts) and never build their updates
// (an ending scaling folds into θ + (−η)·u); transforms piped by hand without a cut join the same
// pass. These tests pin that this is invisible: the same optimizer written out as its
// transforms, each cut from the next by a user's `map` (so each runs alone, through the generic
// per-transform path) and ended by applyUpdates(), gives the same stream, state for state and
// bit for bit (toEqual compares every number with Object.is semantics).

type Hyper = number | ((k: number) => number) | Observable<number>
type Kind = 'number' | 'schedule' | 'observable'
const hyperOf = (kind: Kind, v: number): Hyper =>
  kind === 'number' ? v : kind === 'schedule' ? (k: number) => v / (1 + k) : new BehaviorSubject(v)

/** A user's operator that changes nothing: between two transforms it stops fusion there. */
const cut = <T>(): OperatorFunction<T, T> => map((s: T) => s)

type Op = OperatorFunction<WithGradient<TreeT>, WithGradient<TreeT>>
/** The transforms piped by hand, a cut before each, then applyUpdates(). */
const byHand = (...ts: Op[]): OperatorFunction<WithGradient<TreeT>, TrainState<TreeT>> =>
  pipe(
    ts.reduce<Op>((acc, t) => pipe(acc, cut(), t), cut()),
    cut(),
    applyUpdates(),
  ) as OperatorFunction<WithGradient<TreeT>, TrainState<TreeT>>

/** Each optimizer with its fused and its written-out form, for η = lr (and its other hyper h). */
const cases: Record<
  string,
  (
    lr: () => Hyper,
    h: () => Hyper,
    flag: boolean,
  ) => [
    OperatorFunction<WithGradient<TreeT>, TrainState<TreeT>>,
    OperatorFunction<WithGradient<TreeT>, TrainState<TreeT>>,
  ]
> = {
  adam: (lr, h, efficient) => [
    adam(lr(), { b1: h(), efficient }) as never,
    byHand(scaleByAdam({ b1: h(), efficient }), scaleByLearningRate(lr())),
  ],
  adamw: (lr, h, efficient) => [
    adamw(lr(), { weightDecay: h(), efficient }) as never,
    byHand(scaleByAdam({ efficient }), addDecayedWeights(h()), scaleByLearningRate(lr())),
  ],
  // masked decay has no fused applyTo: the generic ending (update, then θ + (−η)·u)
  adamwMasked: (lr, h) => [
    adamw(lr(), { weightDecay: h(), mask: { W: true, b: false, s: true } }) as never,
    byHand(
      scaleByAdam(),
      addDecayedWeights(h(), { mask: { W: true, b: false, s: true } }),
      scaleByLearningRate(lr()),
    ),
  ],
  sgd: (lr) => [sgd(lr()) as never, byHand(scaleByLearningRate(lr()))],
  momentum: (lr, h) => [
    momentum(lr(), h()) as never,
    byHand(scaleByLearningRate(lr()), scaleByMomentum(h())),
  ],
  nesterov: (lr, h) => [
    nesterov(lr(), h()) as never,
    byHand(scaleByNesterov(h()), scaleByLearningRate(lr())),
  ],
  rmsprop: (lr, h) => [
    rmsprop(lr(), h()) as never,
    byHand(scaleByRms(h()), scaleByLearningRate(lr())),
  ],
  adagrad: (lr) => [adagrad(lr()) as never, byHand(scaleByAdagrad(), scaleByLearningRate(lr()))],
  adabelief: (lr, h) => [
    adabelief(lr(), { b1: h() }) as never,
    byHand(scaleByBelief({ b1: h() }), scaleByLearningRate(lr())),
  ],
  // a user's composition, no cut: one pass of rms, clip, −η
  composed: (lr, h) => [
    pipe(scaleByRms({ decay: h() }), clipByValue(0.5), scaleByLearningRate(lr()), applyUpdates()),
    byHand(scaleByRms({ decay: h() }), clipByValue(0.5), scaleByLearningRate(lr())),
  ],
  // a scaling first and in the middle, an ending scaling that is not the learning rate
  scalings: (lr, h) => [
    pipe(
      scaleByLearningRate(lr()),
      scaleByMomentum(h()),
      scale(0.5),
      scale(-2, { name: 'flip' }),
      applyUpdates(),
    ),
    byHand(
      scaleByLearningRate(lr()),
      scaleByMomentum(h()),
      scale(0.5),
      scale(-2, { name: 'flip' }),
    ),
  ],
  // a transform that is not per-element before the pass
  clipped: (lr, h) => [
    pipe(clipByGlobalNorm(1), adam(lr(), { b2: h() })) as never,
    byHand(clipByGlobalNorm(1), scaleByAdam({ b2: h() }), scaleByLearningRate(lr())),
  ],
  lion: (lr, h) => [
    lion(lr(), { b1: h() }) as never,
    byHand(scaleByLion({ b1: h() }), addDecayedWeights(1e-3), scaleByLearningRate(lr())),
  ],
  // a wrapper in the pass: schedule-free's inner rules, its own rule and θ + u in one loop,
  // against its update run alone (inner chain, then its rule, each on whole trees) after a cut
  scheduleFreeSgd: (lr, _h, decay) => {
    const inner = () =>
      decay
        ? chain(addDecayedWeights(1e-2), scaleByLearningRate(lr()))
        : chain(scaleByLearningRate(lr()))
    const make = () => scheduleFree(inner(), lr(), { b1: decay ? 0.8 : 0.9 })
    return [make() as never, alone(make())]
  },
  scheduleFreeAdamw: (lr, h) => {
    const inner = () =>
      chain(scaleByAdam({ b1: 0, b2: h() }), addDecayedWeights(1e-2), scaleByLearningRate(lr()))
    const make = () => scheduleFree(inner(), lr(), { weightLrPower: 1.5 })
    return [make() as never, alone(make())]
  },
}

/** An optimizer's pair run as one transform after a cut (its update called as it is), then applyUpdates(). */
function alone(op: { transform: GradientTransform<unknown> }) {
  return pipe(
    cut<WithGradient<TreeT>>(),
    gradientTransform(op.transform),
    cut(),
    applyUpdates(),
  ) as unknown as OperatorFunction<WithGradient<TreeT>, TrainState<TreeT>>
}

/** A gradient that depends on θ (so a wrong θ shows in later steps), on any tree. */
const f = (p: TreeT) => ({
  loss: 0,
  grad: mapTree(p, (v) => Math.sin(3 * v) + 0.5) as TreeT,
})

function run(
  params: TreeT,
  opt: OperatorFunction<WithGradient<TreeT>, TrainState<TreeT>>,
  n: number,
) {
  let out: TrainState<TreeT>[] = []
  let error: unknown
  train({ params, step: pipe(gradient(f), opt) })
    .pipe(maxSteps(n), toArray())
    .subscribe({ next: (v) => (out = v), error: (e) => (error = e) })
  return { out, error }
}

describe('an optimizer as one fused stage', () => {
  it('is one stage: pipe(gradient(f), adam(lr)) is a single chain of two stages', () => {
    const s = new Subject<WithGradient<TreeT>>()
    const fused = pipe(gradient(f), adam(0.1))(s as never)
    expect(fused).toBeInstanceOf(FusedStages)
    expect((fused as FusedStages<unknown>).factories).toHaveLength(2)
  })

  it('gives the stream of its transforms written out and cut apart (all optimizers, η and hyper kinds)', () => {
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        fc.constantFrom(...Object.keys(cases)),
        fc.constantFrom<Kind>('number', 'schedule', 'observable'),
        fc.constantFrom<Kind>('number', 'schedule', 'observable'),
        fc.double({ min: 1e-3, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 0.95, noNaN: true }),
        fc.boolean(),
        fc.integer({ min: 1, max: 5 }),
        ([p], name, lrKind, hKind, lr, h, flag, n) => {
          const [fusedOp, handOp] = cases[name](
            () => hyperOf(lrKind, lr),
            () => hyperOf(hKind, h),
            flag,
          )
          const fused = run(p, fusedOp, n)
          const hand = run(p, handOp, n)
          expect(fused.error).toBeUndefined()
          expect(hand.error).toBeUndefined()
          expect(fused.out).toEqual(hand.out)
          // the emitted states are deeply frozen, as the written-out pipe's are
          const last = fused.out[fused.out.length - 1]
          expect(Object.isFrozen(last)).toBe(true)
          expect(Object.isFrozen(last.params)).toBe(true)
          expect(Object.isFrozen(last.hyper)).toBe(true)
          expect(Object.isFrozen(last.opt)).toBe(true)
          for (const slot of Object.values(last.opt)) expect(Object.isFrozen(slot)).toBe(true)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('without generated code (a strict-CSP page), every optimizer gives the same bits', () => {
    // the pass's loop is generated per chain where `Function` works, a generic loop otherwise;
    // both run the same rules in the same order. Here `Function` throws, as under a CSP
    // without 'unsafe-eval', and the fused stream must equal the generated one and the cut one.
    fc.assert(
      fc.property(
        template.chain((t) => treesLike(t, 1)),
        fc.constantFrom(...Object.keys(cases)),
        fc.double({ min: 1e-3, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 0.95, noNaN: true }),
        fc.boolean(),
        ([p], name, lr, h, flag) => {
          const make = () =>
            cases[name](
              () => lr,
              () => h,
              flag,
            )
          const generated = run(p, make()[0], 4)
          const hand = run(p, make()[1], 4)
          const original = globalThis.Function
          let plain: ReturnType<typeof run>
          try {
            globalThis.Function = function () {
              throw new EvalError('Refused to evaluate a string as JavaScript (CSP)')
            } as unknown as FunctionConstructor
            setPassCodegen(true) // asks for generation: refused, the generic loop is used
            expect(setPassCodegen(true)).toBe(false)
            plain = run(p, make()[0], 4)
          } finally {
            globalThis.Function = original
            setPassCodegen(true)
          }
          expect(plain.error).toBeUndefined()
          expect(plain.out).toEqual(generated.out)
          expect(plain.out).toEqual(hand.out)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('a long leaf (20,000 elements) gives the same bits', () => {
    const n = 20_000
    const big = { W: tensor(Array.from({ length: n }, (_, i) => Math.sin(i))), b: [1], s: 2 }
    for (const [fusedOp, handOp] of [
      [adam(0.01) as never, byHand(scaleByAdam(), scaleByLearningRate(0.01))],
      [momentum(0.01, 0.9) as never, byHand(scaleByLearningRate(0.01), scaleByMomentum(0.9))],
      [adabelief(0.01) as never, byHand(scaleByBelief(), scaleByLearningRate(0.01))],
    ] as const) {
      const fused = run(big as never, fusedOp, 3)
      const hand = run(big as never, handOp, 3)
      expect(fused.out).toEqual(hand.out)
    }
  })

  it('reports a bad scheduled value with the step and the last good state, as the written-out pipe', () => {
    // b1 = 1 at step 2 is outside [0, 1)
    const b1 = (k: number) => (k < 2 ? 0.9 : 1)
    const p: TreeT = { W: tensor([[0.5]]), b: [1], s: 2 }
    const fused = run(p, adam(0.1, { b1 }) as never, 5)
    const hand = run(p, byHand(scaleByAdam({ b1 }), scaleByLearningRate(0.1)), 5)
    expect(fused.error).toBeInstanceOf(TrainError)
    const e = fused.error as TrainError<TrainState<TreeT>>
    const h = hand.error as TrainError<TrainState<TreeT>>
    expect(e.message).toBe(h.message)
    expect(e.message).toContain('scaleByAdam: b1 at step 2: expected a number in [0, 1), got 1')
    expect(e.step).toBe(h.step)
    expect(e.lastState.step).toBe(2)
    expect(e.lastState).toEqual(h.lastState)
    expect(fused.out).toEqual(hand.out)
  })

  it('rejects a slot name used twice in the step (the transform before it, then its own)', () => {
    const p: TreeT = { W: tensor([[0.5]]), b: [], s: 2 }
    const twice = run(p, pipe(scaleByAdam(), adam(0.1) as never) as never, 2)
    expect((twice.error as Error).message).toContain(
      'scaleByAdam: name: expected a slot name no other transform in this step uses, got "scaleByAdam" (pass { name } to tell them apart)',
    )
    const lrTwice = run(p, pipe(scaleByLearningRate(0.1), sgd(0.1) as never) as never, 2)
    expect((lrTwice.error as Error).message).toContain(
      'scaleByLearningRate: name: expected a slot name no other transform in this step uses, got "scaleByLearningRate"',
    )
  })

  it('subscribes an Observable hyperparameter once per run and unsubscribes it when the run stops', () => {
    const eta = new BehaviorSubject(0.1)
    const b1 = new BehaviorSubject(0.9)
    const p: TreeT = { W: tensor([[0.5, -1]]), b: [], s: 0 }
    const { out } = run(p, adam(eta, { b1 }) as never, 3)
    expect(out.map((s) => s.hyper['scaleByLearningRate.lr'])).toEqual([undefined, 0.1, 0.1, 0.1])
    expect(eta.observed).toBe(false)
    expect(b1.observed).toBe(false)
  })

  it('runs of one optimizer operator, stepped in turn, give the streams of separate ones', () => {
    // a chain's plan is worked out once and shared by its runs (src/engine/stages.ts); each
    // run subscribes η itself and keeps its own buffers, hyperparameter record and slots. Run a
    // stops after 2 steps, then b changes η at its step 3: b must still see it.
    type Make = (eta: BehaviorSubject<number>) => ReturnType<typeof momentum>
    const makers: Make[] = [(eta) => momentum(eta), (eta) => adam(eta, { b1: 0.8 })]
    const pa: TreeT = { W: tensor([[0.5, -1]]), b: [2, -0.5], s: 0.3 }
    const pb: TreeT = { W: tensor([[-0.25, 3]]), b: [-1, 0.25], s: -0.7 }
    /** a run of `op` for `n` steps; η becomes 0.05 once step 3 is emitted */
    const steps = (
      op: ReturnType<typeof momentum>,
      eta: BehaviorSubject<number>,
      params: TreeT,
      n: number,
      mode?: ReturnType<typeof chunked>,
      seen?: () => void,
    ) => {
      const out: TrainState<TreeT>[] = []
      train({ params, step: pipe(gradient(f), op), mode })
        .pipe(maxSteps(n))
        .subscribe((s) => {
          out.push(s)
          seen?.()
          if (s.step === 3) eta.next(0.05)
        })
      return out
    }
    for (const make of makers) {
      const eta = new BehaviorSubject(0.1)
      const shared = make(eta)
      const vts = new VirtualTimeScheduler()
      const order: string[] = []
      const mode = chunked({ steps: 1, scheduler: vts })
      const a = steps(shared, eta, pa, 2, mode, () => order.push('a'))
      const b = steps(shared, eta, pb, 4, mode, () => order.push('b'))
      vts.flush()
      expect(order.join('')).toBe('ababab' + 'bb')
      const alone = (p: TreeT, n: number) => {
        const e = new BehaviorSubject(0.1)
        return steps(make(e), e, p, n)
      }
      expect(a).toEqual(alone(pa, 2))
      expect(b).toEqual(alone(pb, 4))
      expect(b[4].lr).toBe(0.05)
    }
  })

  it('runs of one optimizer with a constant or scheduled η, stepped in turn, give separate streams', () => {
    // without an Observable hyperparameter a chain's runs share one step function
    // (src/engine/chainStep.ts): what it keeps between steps must not leak from run to run
    const makers = [() => momentum(0.1), () => adam((k: number) => 0.1 / (1 + k), { b1: 0.8 })]
    const pa: TreeT = { W: tensor([[0.5, -1]]), b: [2, -0.5], s: 0.3 }
    const pb: TreeT = { W: tensor([[-0.25, 3]]), b: [-1, 0.25], s: -0.7 }
    for (const make of makers) {
      const shared = make() as never
      const vts = new VirtualTimeScheduler()
      const mode = chunked({ steps: 1, scheduler: vts })
      const runOf = (params: TreeT, n: number) => {
        const out: TrainState<TreeT>[] = []
        train({ params, step: pipe(gradient(f), shared), mode })
          .pipe(maxSteps(n))
          .subscribe((s) => out.push(s))
        return out
      }
      const a = runOf(pa, 2)
      const b = runOf(pb, 4)
      vts.flush()
      expect(a).toEqual(run(pa, make() as never, 2).out)
      expect(b).toEqual(run(pb, make() as never, 4).out)
    }
  })

  it('a step that runs the same optimizer again (from its schedule) gives the same streams', () => {
    // the shared step is busy: the run it starts gets a step function of its own
    const pa: TreeT = { W: tensor([[0.5, -1]]), b: [2, -0.5], s: 0.3 }
    const pb: TreeT = { W: tensor([[-0.25, 3]]), b: [-1, 0.25], s: -0.7 }
    let nested: TrainState<TreeT>[] = []
    let depth = 0
    const eta = (k: number) => {
      if (depth === 0 && k === 1) {
        depth++
        nested = run(pb, op, 3).out
        depth--
      }
      return 0.1 / (1 + k)
    }
    const op = momentum(eta) as never
    const outer = run(pa, op, 3)
    expect(outer.error).toBeUndefined()
    expect(nested).toHaveLength(4)
    expect(outer.out).toEqual(run(pa, momentum((k: number) => 0.1 / (1 + k)) as never, 3).out)
    expect(nested).toEqual(run(pb, momentum((k: number) => 0.1 / (1 + k)) as never, 3).out)
  })

  it('runs a rule whose slot trees have any names in the pass, as alone', () => {
    // the pass hands a rule its slot's arrays in records it writes out per rule (src/engine/pass.ts)
    const odd = () =>
      gradientTransform({
        name: 'odd',
        hyper: { beta: 0.5 },
        init: (p) => ({ 'a-b': mapTree(p, () => 0), "it's": mapTree(p, () => 1), 0: 7 }),
        update: elementwise({
          trees: ['a-b', "it's"],
          rule: ({ beta }: { beta: number }, g, i, old, next) => {
            const m = (next['a-b'][i] = beta * old['a-b'][i] + g)
            const v = (next["it's"][i] = old["it's"][i] + g * g)
            return m / Math.sqrt(v)
          },
        }),
      })
    const p: TreeT = { W: tensor([[0.5, -1]]), b: [2, -0.5], s: 0.3 }
    const fused = run(p, pipe(odd(), scaleByLearningRate(0.1), applyUpdates()), 3)
    const hand = run(p, byHand(odd(), scaleByLearningRate(0.1)), 3)
    expect(fused.error).toBeUndefined()
    expect(fused.out).toEqual(hand.out)
    expect(Object.keys(fused.out[3].opt.odd as object).sort()).toEqual(['0', 'a-b', "it's"])
  })

  it('hands a rule its constants as prepare made them: any keys, a prototype, a getter', () => {
    // the pass reads a plain record's fields once per leaf and hands the rule a copy per element
    // (src/engine/pass.ts); a record it cannot copy (a getter, a prototype, a `__proto__` key)
    // reaches the rule itself, and the loop changes when the keys do
    type K = Record<string, number> & { bonus?: () => number }
    let reads = 0
    class WithBonus {
      'a b' = 0.5
      bonus() {
        return 0.25
      }
    }
    const kAt = (step: number): K => {
      const kind = step % 4
      if (kind === 0) return { 'a b': 0.5, 'x"y': 2, 0: 1 }
      if (kind === 1) return JSON.parse('{"__proto__": 3, "a b": 0.5}')
      if (kind === 2) return new WithBonus() as unknown as K
      return {
        get 'a b'() {
          reads++
          return 0.5
        },
      }
    }
    const rule = (k: K, g: number) => {
      const own = Object.getOwnPropertyDescriptor(k, '__proto__')
      const bonus = typeof k.bonus === 'function' ? k.bonus() : 0
      return (
        g * k['a b'] + (k['x"y'] ?? 0) + (k[0] ?? 0) + (own === undefined ? 0 : own.value) + bonus
      )
    }
    const odd = () =>
      gradientTransform({
        name: 'consts',
        hyper: {},
        init: () => undefined,
        update: elementwise({ prepare: (_, __, step) => [kAt(step)], rule }),
      })
    // u per step, written out in the rule's order: 0.5·g + 2 + 1, 0.5·g + 3, 0.5·g + 0.25, 0.5·g
    const terms = [
      [2, 1, 0, 0],
      [0, 0, 3, 0],
      [0, 0, 0, 0.25],
      [0, 0, 0, 0],
    ]
    const p: TreeT = { W: tensor([[0.5, -1]]), b: [2, -0.5], s: 0.3 }
    const expected: TreeT[] = [p]
    for (let t = 0; t < 8; t++) {
      const [a, b, c, d] = terms[t % 4]
      const u = (v: number) => (Math.sin(3 * v) + 0.5) * 0.5 + a + b + c + d
      expected.push(mapTree(expected[t], (v) => v + -0.1 * u(v)) as TreeT)
    }
    const runs = [
      run(p, pipe(odd(), scaleByLearningRate(0.1), applyUpdates()), 8),
      run(p, byHand(odd(), scaleByLearningRate(0.1)), 8),
    ]
    expect(reads).toBe(2 * 2 * 5) // per run, per getter step, once per element (5 elements)
    setPassCodegen(false)
    try {
      runs.push(run(p, pipe(odd(), scaleByLearningRate(0.1), applyUpdates()), 8))
    } finally {
      setPassCodegen(true)
    }
    for (const r of runs) {
      expect(r.error).toBeUndefined()
      expect(r.out.map((s) => s.params)).toEqual(expected)
    }
  })

  it('records a changed η at the very step it changes (the reused hyper record is not stale)', () => {
    const eta = new BehaviorSubject(0.1)
    const p: TreeT = { W: tensor([[1]]), b: [], s: 0 }
    let out: TrainState<TreeT>[] = []
    train({ params: p, step: pipe(gradient(f), sgd(eta)) })
      .pipe(
        map((s) => {
          if (s.step === 2) eta.next(0.25)
          return s
        }),
        maxSteps(4),
        toArray(),
      )
      .subscribe((v) => (out = v))
    expect(out.map((s) => s.lr)).toEqual([NaN, 0.1, 0.1, 0.25, 0.25])
    expect(out.map((s) => s.hyper['scaleByLearningRate.lr'])).toEqual([
      undefined,
      0.1,
      0.1,
      0.25,
      0.25,
    ])
    // θ₃ = θ₂ − 0.25·(sin 3θ₂ + 0.5), computed anew here from the emitted θ₂
    const w2 = out[2].params.s
    expect(out[3].params.s).toBe(w2 - 0.25 * (Math.sin(3 * w2) + 0.5))
  })
})
