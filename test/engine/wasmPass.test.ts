import fc from 'fast-check'
import { build } from 'esbuild'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { pipe, toArray, VirtualTimeScheduler } from 'rxjs'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { chunked, mapTree, tensor, train, type TrainState } from 'gradstream'
import {
  adabelief,
  adagrad,
  adam,
  adamw,
  addDecayedWeights,
  applyUpdates,
  chain,
  clipByValue,
  elementwise,
  gradient,
  gradientTransform,
  lion,
  maxSteps,
  momentum,
  nesterov,
  rmsprop,
  scaleByAdagrad,
  scaleByAdam,
  scaleByBelief,
  scaleByLearningRate,
  scaleByLion,
  scaleByMomentum,
  scaleByNesterov,
  scaleByRms,
  scheduleFree,
} from 'gradstream/operators'
import { planOf } from '../../src/engine/elementwise.js'
import { type LeafSlots, type Member, passLoop, setPassCodegen } from '../../src/engine/pass.js'
import { compileRule } from '../../src/engine/ruleCompiler.js'
import { residentPass, setPassWasm, wasmPassLoop } from '../../src/engine/wasmPass.js'

// The pass as a wasm SIMD kernel compiled from the rules' own source (src/engine/ruleCompiler.ts,
// src/engine/wasmPass.ts) must be invisible: for every rule it takes, the bits of the JavaScript
// loop (src/engine/pass.ts) on any input — NaN, ±0, ±Infinity, subnormals — and, with θ and the
// slots resident in its memory between steps, the bits of the JavaScript pass at every step,
// whatever arrays come in (the ones it wrote, replaced ones, another run's). Rules outside the
// subset are not compiled: the JavaScript loop runs them.

type AnyRule = (...args: never[]) => unknown
type Case = { readonly rule: AnyRule; readonly trees: readonly string[] }

const ruleOf = (t: { transform: { update: unknown } } | { update: unknown }): Case => {
  const update = 'transform' in t ? t.transform.update : t.update
  const plan = planOf(update) as { rule: AnyRule; trees?: readonly string[] }
  return { rule: plan.rule, trees: plan.trees ?? [] }
}

/** The library's rules. */
const builtIn: Record<string, Case> = {
  adam: ruleOf(scaleByAdam()),
  momentum: ruleOf(scaleByMomentum(0.9)),
  nesterov: ruleOf(scaleByNesterov(0.9)),
  rms: ruleOf(scaleByRms()),
  belief: ruleOf(scaleByBelief()),
  adagrad: ruleOf(scaleByAdagrad()),
  lion: ruleOf(scaleByLion()),
  clip: ruleOf(clipByValue(1)),
  decay: ruleOf(addDecayedWeights(0.1)),
  scheduleFree: ruleOf(scheduleFree(chain(scaleByLearningRate(0.1)), 0.1)),
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Rules a user could write, in the forms the subset takes. */
const userRules: Record<string, Case> = {
  softSign: {
    rule: ((delta: number, g: number) => g / (Math.abs(g) + delta)) as AnyRule,
    trees: [],
  },
  minMaxSign: {
    rule: ((k: any, g: number, i: number, old: any, next: any) => {
      next.m[i] = Math.max(old.m[i], g, k.c)
      return Math.min(g, -0, k.c) * Math.sign(g - k.c) + Math.max(g) * 0.5 + Math.min()
    }) as AnyRule,
    trees: ['m'],
  },
  ternaries: {
    rule: (({ lo, hi }: any, g: number) =>
      g < lo || g !== g ? lo : !(g <= hi) && hi >= lo ? hi : g) as AnyRule,
    trees: [],
  },
  letsAndTruthiness: {
    rule: function (k: any, g: number, i: number, old: any, next: any) {
      let m = old['m'][i] // a comment
      m += g /* another */
      m *= k.c
      next.m[i] = m
      ;((next.m[i] -= 1), (m = m * 1))
      const back = next.m[i]
      return m ? g / m - back : -Infinity + NaN * Math.PI
    } as AnyRule,
    trees: ['m'],
  },
  oldAfterNew: {
    rule: ((k: number, g: number, i: number, old: any, next: any) => {
      next.m[i] = k * g
      return old.m[i] - next.m[i]
    }) as AnyRule,
    trees: ['m'],
  },
  method: {
    rule: {
      r(c: number, g: number, i: number, o: any, n: any, p: Float64Array) {
        const { a: x, b } = o
        const y = (n.a[i] = x[i] * c - p[i]),
          z = (n.b[i] = Math.floor(b[i]) + Math.ceil(g) - Math.trunc(y))
        return Math.sqrt(Math.abs(y / z))
      },
    }.r as AnyRule,
    trees: ['a', 'b'],
  },
}

/** Rules outside the subset: not compiled (the JavaScript loop runs them). */
const outside: Record<string, Case> = {
  power: { rule: ((k: number, g: number) => g ** 2) as AnyRule, trees: [] },
  remainder: { rule: ((k: number, g: number) => g % 2) as AnyRule, trees: [] },
  closure: {
    rule: (
      (c) => (k: number, g: number) =>
        c * g
    )(2) as AnyRule,
    trees: [],
  },
  call: { rule: ((k: number, g: number) => Math.pow(g, 2)) as AnyRule, trees: [] },
  random: { rule: ((k: number, g: number) => g * Math.random()) as AnyRule, trees: [] },
  index: { rule: ((k: number, g: number, i: number) => g * i) as AnyRule, trees: [] },
  loop: {
    rule: function (k: number, g: number) {
      let s = 0
      for (let j = 0; j < 2; j++) s += g
      return s
    } as AnyRule,
    trees: [],
  },
  branch: {
    rule: function (k: number, g: number) {
      if (g > 0) return g
      return -g
    } as AnyRule,
    trees: [],
  },
  writesOld: {
    rule: ((k: number, g: number, i: number, old: any) => (old.m[i] = g)) as AnyRule,
    trees: ['m'],
  },
  leavesSlotUnwritten: { rule: ((k: number, g: number) => g) as AnyRule, trees: ['m'] },
  readsNextFirst: {
    rule: ((k: number, g: number, i: number, o: any, next: any) =>
      (next.m[i] = next.m[i] + g)) as AnyRule,
    trees: ['m'],
  },
  assignsInBranch: {
    rule: ((k: number, g: number, i: number, o: any, next: any) =>
      g > 0 ? (next.m[i] = g) : (next.m[i] = -g)) as AnyRule,
    trees: ['m'],
  },
  kTwoWays: { rule: ((k: any, g: number) => k * g + k.c) as AnyRule, trees: [] },
  unknownField: {
    rule: ((k: number, g: number, i: number, old: any, next: any) =>
      (next.m[i] = old.other[i] + g)) as AnyRule,
    trees: ['m'],
  },
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Any double: NaN, ±0, ±Infinity, subnormals, huge and tiny ones, and ordinary ones. */
const anyDouble = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, 0, -0, Infinity, -Infinity, 5e-324, -5e-324, 2.2e-308, 1, -1),
  fc.double({ min: -4, max: 4, noNaN: true }),
)
const numbers = (n: number) => fc.array(anyDouble, { minLength: n, maxLength: n })

/** Element by element, with ±0 told apart and NaN equal to NaN (its payload is not specified). */
const bits = (a: Float64Array) => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v)))

/** A pass's inputs: the constants of each member and the arrays, on one leaf of length `len`. */
function inputs(members: readonly (Case | null)[], len: number) {
  const constants = members.map((m) => {
    if (m === null) return anyDouble
    const compiled = compileRule(m.rule, m.trees)!
    if (compiled.consts.includes(null)) return anyDouble
    return fc.record(
      Object.fromEntries(compiled.consts.map((c) => [c!, anyDouble])) as Record<
        string,
        typeof anyDouble
      >,
    )
  })
  const slots = members.map((m) =>
    fc.tuple(...(m?.trees ?? []).map(() => numbers(len))).map((arrays) => {
      const out: Record<string, Float64Array> = {}
      m?.trees.forEach((f, x) => (out[f] = Float64Array.from(arrays[x])))
      return out
    }),
  )
  return fc.record({
    k: fc.tuple(...constants),
    old: fc.tuple(...slots),
    p: numbers(len).map((x) => Float64Array.from(x)),
    g: numbers(len).map((x) => Float64Array.from(x)),
    a: anyDouble,
  })
}

/** Runs `loop` on fresh outputs: [q, then each member's next arrays]. */
function runLoop(
  loop: (
    k: readonly unknown[],
    o: readonly LeafSlots[],
    n: readonly LeafSlots[],
    ...r: never[]
  ) => void,
  members: readonly (Case | null)[],
  x: {
    k: readonly unknown[]
    old: readonly LeafSlots[]
    p: Float64Array
    g: Float64Array
    a: number
  },
  len: number,
): Float64Array[] {
  const next = members.map((m) => {
    const r: Record<string, Float64Array> = {}
    for (const f of m?.trees ?? []) r[f] = new Float64Array(len).fill(7)
    return r
  })
  const q = new Float64Array(len).fill(7)
  ;(loop as unknown as (...a: unknown[]) => void)(x.k, x.old, next, x.p, x.g, q, x.a, len)
  return [q, ...next.flatMap((r) => Object.values(r))]
}

const rulesOf = (members: readonly (Case | null)[]): Member[] =>
  members.map((m) => (m === null ? null : (m.rule as Member)))
const treesOf = (members: readonly (Case | null)[]) => members.map((m) => m?.trees ?? [])

let before: ReturnType<typeof setPassWasm>
beforeEach(() => {
  before = setPassWasm('always')
})
afterEach(() => {
  setPassWasm(before)
})

describe('a rule read from its source', () => {
  it('compiles every rule of the library and the forms a user may write', () => {
    for (const [name, c] of Object.entries({ ...builtIn, ...userRules })) {
      expect(compileRule(c.rule, c.trees), name).not.toBeNull()
    }
  })

  it('is not compiled outside the subset, and the pass is then left to the JavaScript loop', () => {
    for (const [name, c] of Object.entries(outside)) {
      expect(compileRule(c.rule, c.trees), name).toBeNull()
      expect(wasmPassLoop([c.rule as Member], true, [c.trees]), name).toBeNull()
    }
  })

  it('counts the divisions and square roots (what makes the pass pay)', () => {
    expect(compileRule(builtIn.adam.rule, builtIn.adam.trees)!.heavy).toBe(4)
    expect(compileRule(builtIn.momentum.rule, builtIn.momentum.trees)!.heavy).toBe(0)
  })
})

describe('the pass as a wasm kernel', () => {
  const all = { ...builtIn, ...userRules }
  it('gives the JavaScript loop’s bits for every rule, alone or in a chain, on any input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.constantFrom(...Object.keys(all)), { freq: 4 }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.gen(),
        (names, len, apply, gen) => {
          const members = names.map((n) => (n === null ? null : all[n]))
          const x = gen(() => inputs(members, len))
          const wasm = wasmPassLoop(rulesOf(members), apply, treesOf(members))
          expect(wasm).not.toBeNull()
          const js = passLoop(rulesOf(members), apply, treesOf(members))
          const got = runLoop(wasm!, members, x, len)
          const want = runLoop(js, members, x, len)
          expect(got.map(bits)).toEqual(want.map(bits))
        },
      ),
      { numRuns: 300, interruptAfterTimeLimit: 20_000 },
    )
  })

  it('is off where loops are not generated (a strict-CSP page) or when switched off', () => {
    const members = [builtIn.adam.rule as Member]
    expect(wasmPassLoop(members, true, [builtIn.adam.trees])).not.toBeNull()
    setPassCodegen(false)
    try {
      expect(wasmPassLoop(members, true, [builtIn.adam.trees])).toBeNull()
    } finally {
      setPassCodegen(true)
    }
    setPassWasm('off')
    expect(wasmPassLoop(members, true, [builtIn.adam.trees])).toBeNull()
  })
})

describe('the resident pass', () => {
  /**
   * Model: up to three sequences of states (runs) stepped in any order through ONE resident pass
   * (as runs of a chain share a step), each step sometimes on a replaced array (a resumed or
   * edited state); every step must give the JavaScript pass's bits, and every array a step
   * wrote must keep its values after all later steps (a kept state stays valid).
   */
  const chains: Record<string, readonly (Case | null)[]> = {
    adam: [builtIn.adam],
    adamScaled: [builtIn.adam, null],
    belief: [builtIn.belief],
    momentumScaled: [null, builtIn.momentum],
    rmsClipDecay: [builtIn.rms, builtIn.clip, builtIn.decay],
    scheduleFree: [builtIn.adam, null, builtIn.scheduleFree],
    oldAfterNew: [userRules.oldAfterNew, builtIn.lion],
  }
  it('gives the JavaScript pass’s bits at every step, whatever arrays come in', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(chains)),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 3, maxLength: 3 }),
        fc.array(
          fc.record({
            run: fc.integer({ min: 0, max: 2 }),
            replace: fc.constantFrom('none', 'none', 'p', 'slot'),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.gen(),
        (name, lens, leafOf, schedule, gen) => {
          const members = chains[name]
          const rules = rulesOf(members)
          const trees = treesOf(members)
          const resident = residentPass(rules, trees)
          const js = passLoop(rules, true, trees)
          // each run's state: its θ and slot arrays (the ones the last step wrote)
          const states = lens.map((len) => {
            const x = gen(() => inputs(members, len))
            return { p: x.p, old: x.old as LeafSlots[] }
          })
          const kept: { array: Float64Array; bits: string[] }[] = []
          for (const { run, replace } of schedule) {
            const len = lens[run]
            const s = states[run]
            const x = gen(() => inputs(members, len))
            if (replace === 'p') s.p = x.p
            if (replace === 'slot') {
              const m = members.findIndex((c) => c !== null && c.trees.length > 0)
              if (m >= 0) s.old = s.old.map((o, j) => (j === m ? x.old[j] : o))
            }
            const step = { ...x, p: s.p, old: s.old }
            const want = runLoop(js, members, step, len)
            // the resident pass, on fresh outputs as the chain's step hands it
            const q = new Float64Array(len)
            const next = members.map((m) => {
              const r: Record<string, Float64Array> = {}
              for (const f of m?.trees ?? []) r[f] = new Float64Array(len)
              return r
            })
            const ran = resident.run(
              leafOf[run],
              step.k,
              step.old,
              next,
              step.p,
              step.g,
              q,
              step.a,
              len,
            )
            expect(ran).toBe(true)
            const got = [q, ...next.flatMap((r) => Object.values(r))]
            expect(got.map(bits)).toEqual(want.map(bits))
            for (const array of got) kept.push({ array, bits: bits(array) })
            states[run] = { p: q, old: next }
          }
          for (const k of kept) expect(bits(k.array)).toEqual(k.bits)
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: 20_000 },
    )
  })

  /** One step of run `s` through `pass` on leaf `leaf`: its outputs, checked against the loop. */
  const stepThrough = (
    pass: ReturnType<typeof residentPass>,
    members: readonly (Case | null)[],
    s: { p: Float64Array; old: LeafSlots[] },
    x: { k: readonly unknown[]; g: Float64Array; a: number },
    leaf: number,
  ) => {
    const len = s.p.length
    const step = { ...x, p: s.p, old: s.old }
    const want = runLoop(passLoop(rulesOf(members), true, treesOf(members)), members, step, len)
    const q = new Float64Array(len)
    const next = members.map((m) => {
      const r: Record<string, Float64Array> = {}
      for (const f of m?.trees ?? []) r[f] = new Float64Array(len)
      return r
    })
    expect(pass.run(leaf, step.k, step.old, next, step.p, step.g, q, step.a, len)).toBe(true)
    expect([q, ...next.flatMap((r) => Object.values(r))].map(bits)).toEqual(want.map(bits))
    return { p: q, old: next }
  }

  it('gives the JavaScript bits across passes that take over each other’s memory', async () => {
    // runs stepped through several passes of one chain (a run resumed by a new optimizer, an old
    // one stepped again): arenas are taken over from idle passes, whose residences then hold
    // another run's numbers under the same array identities
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(chains)),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 3, maxLength: 3 }),
        fc.array(
          fc.record({
            run: fc.integer({ min: 0, max: 2 }),
            via: fc.oneof(fc.constant('own' as const), fc.constant('new' as const), fc.nat()),
            repeat: fc.integer({ min: 1, max: 12 }),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        fc.gen(),
        async (name, lens, schedule, gen) => {
          // a fresh copy of the module each time: its pool empty, so the arenas taken over are
          // this case's passes' (an older case's idle arenas would be taken first)
          vi.resetModules()
          const fresh = await import('../../src/engine/wasmPass.js')
          fresh.setPassWasm('always')
          const members = chains[name]
          const make = () => fresh.residentPass(rulesOf(members), treesOf(members))
          const passes = [make()]
          const passOf = [0, 0, 0]
          const states = lens.map((len) => {
            const x = gen(() => inputs(members, len))
            return { p: x.p, old: x.old as LeafSlots[] }
          })
          const kept: { array: Float64Array; bits: string[] }[] = []
          for (const { run, via, repeat } of schedule) {
            if (via === 'new') passOf[run] = passes.push(make()) - 1
            const pass =
              via === 'own' || via === 'new' ? passes[passOf[run]] : passes[via % passes.length]
            for (let t = 0; t < repeat; t++) {
              const x = gen(() => inputs(members, lens[run]))
              states[run] = stepThrough(pass, members, states[run], x, 0)
              for (const array of [
                states[run].p,
                ...states[run].old.flatMap((o) => Object.values(o)),
              ])
                kept.push({ array, bits: bits(array) })
            }
          }
          for (const k of kept) expect(bits(k.array)).toEqual(k.bits)
        },
      ),
      { numRuns: 100, interruptAfterTimeLimit: 20_000 },
    )
  })

  it('lets a new pass take over an idle one’s memory; the idle one, stepped again, copies in', async () => {
    // a fresh copy of the module: its pool empty, so which arena is taken over is known
    vi.resetModules()
    const fresh = await import('../../src/engine/wasmPass.js')
    fresh.setPassWasm('always')
    const members = chains.adam
    const make = () => fresh.residentPass(rulesOf(members), treesOf(members))
    const state = (seed: number, len: number) => {
      const x = fc.sample(inputs(members, len), { numRuns: 1, seed })[0]
      return { s: { p: x.p, old: x.old as LeafSlots[] }, x }
    }
    const [a, b, c] = [make(), make(), make()]
    let runA = state(1, 6).s
    let runB = state(2, 6).s
    let runC = state(3, 6).s
    for (let t = 0; t < 2; t++) runA = stepThrough(a, members, runA, state(10 + t, 6).x, 0)
    expect(fresh.residentArenas()).toEqual({ arenas: 1, takeovers: 0, moves: 0 })
    // b starts while a was just used: a memory of its own
    for (let t = 0; t < 30; t++) runB = stepThrough(b, members, runB, state(20 + t, 6).x, 0)
    expect(fresh.residentArenas()).toEqual({ arenas: 2, takeovers: 0, moves: 0 })
    // c starts after a was idle for 30 steps: a's memory, written over by c's run
    runC = stepThrough(c, members, runC, state(60, 6).x, 0)
    expect(fresh.residentArenas()).toEqual({ arenas: 2, takeovers: 1, moves: 0 })
    // a's residence still names runA's arrays, but its numbers are gone: a must copy in
    runA = stepThrough(a, members, runA, state(61, 6).x, 0)
    runB = stepThrough(b, members, runB, state(62, 6).x, 0)
    runC = stepThrough(c, members, runC, state(63, 6).x, 0)
  })
})

describe('an optimizer with the wasm pass', () => {
  type P = { W: ReturnType<typeof tensor>; b: number[]; s: number }
  const f = (p: P) => ({ loss: 0, grad: mapTree(p, (v) => Math.sin(3 * v) + 0.5) as P })
  const makers: Record<string, () => unknown> = {
    adam: () => adam(0.05),
    adamw: () => adamw((k: number) => 0.05 / (1 + k), { weightDecay: 0.1 }),
    adabelief: () => adabelief(0.05),
    rmsprop: () => rmsprop(0.05, 0.9),
    adagrad: () => adagrad(0.05),
    momentum: () => momentum(0.05, 0.9),
    nesterov: () => nesterov(0.05, 0.9),
    lion: () => lion(0.01),
    composed: () => pipe(scaleByRms(), clipByValue(0.5), scaleByLearningRate(0.05), applyUpdates()),
    scheduleFreeAdamw: () =>
      scheduleFree(
        chain(scaleByAdam({ b1: 0 }), addDecayedWeights(1e-2), scaleByLearningRate(0.05)),
        0.05,
      ),
    custom: () =>
      pipe(
        gradientTransform({
          name: 'softSign',
          hyper: { delta: 0.1 },
          update: elementwise({
            prepare: (_: unknown, { delta }: { readonly [f: string]: number }) => [delta],
            rule: userRules.softSign.rule as never,
          }),
        }),
        scaleByLearningRate(0.05),
        applyUpdates(),
      ),
  }
  const params = (seed: number): P => ({
    W: tensor([
      [0.5 * seed, -1, 0.25, 3, -0],
      [2, -0.5, 1e-310, 7, 0.125],
    ]),
    b: [seed, -0.5, 0.75],
    s: 0.3,
  })
  const runOf = (op: unknown, p: P, n: number, mode?: ReturnType<typeof chunked>) => {
    let out: TrainState<P>[] = []
    train({ params: p, step: pipe(gradient(f), op as never), mode })
      .pipe(maxSteps(n), toArray())
      .subscribe((v) => (out = v as TrainState<P>[]))
    return () => out
  }
  const withWasm = <T>(mode: 'always' | 'off', fn: () => T): T => {
    const was = setPassWasm(mode)
    try {
      return fn()
    } finally {
      setPassWasm(was)
    }
  }

  it('emits the JavaScript pass’s states, bit for bit, and earlier states stay as they were', () => {
    for (const [name, make] of Object.entries(makers)) {
      const js = withWasm('off', () => runOf(make(), params(1), 6)())
      const copy = structuredClone(js)
      const wasm = withWasm('always', () => runOf(make(), params(1), 6)())
      expect(wasm, name).toEqual(js)
      expect(wasm, name).toEqual(copy)
    }
  })

  it('gives each of two runs of one optimizer stepped in turn its own stream', () => {
    for (const [name, make] of Object.entries(makers)) {
      const alone = withWasm('off', () => [
        runOf(make(), params(1), 5)(),
        runOf(make(), params(2), 4)(),
      ])
      const both = withWasm('always', () => {
        const shared = make()
        const vts = new VirtualTimeScheduler()
        const mode = chunked({ steps: 1, scheduler: vts })
        const a = runOf(shared, params(1), 5, mode)
        const b = runOf(shared, params(2), 4, mode)
        vts.flush()
        return [a(), b()]
      })
      expect(both, name).toEqual(alone)
    }
  })

  it('resumes from an earlier state or from edited parameters with the JavaScript bits', () => {
    const op = adam(0.05)
    const from = (s: TrainState<P>, p: P, n: number) => {
      let out: TrainState<P>[] = []
      train({ params: p, step: pipe(gradient(f), op as never), from: { ...s, params: p } })
        .pipe(maxSteps(s.step + n), toArray())
        .subscribe((v) => (out = v as TrainState<P>[]))
      return out
    }
    const run = withWasm('always', () => runOf(op, params(1), 6)())
    const edited: P = {
      ...run[5].params,
      W: tensor([
        [1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10],
      ]),
    }
    const got = withWasm('always', () => [from(run[2], run[2].params, 3), from(run[5], edited, 3)])
    const want = withWasm('off', () => [from(run[2], run[2].params, 3), from(run[5], edited, 3)])
    expect(got).toEqual(want)
    expect(got[0].length).toBeGreaterThan(1)
  })
})

describe('a bundled, minified library', () => {
  it('compiles its rules (renamed and reshaped by esbuild) to the JavaScript loop’s bits', async () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
    const dir = mkdtempSync(join(tmpdir(), 'gradstream-wasmpass-'))
    try {
      const entry = [
        `export { planOf } from ${JSON.stringify(join(root, 'src/engine/elementwise.ts'))}`,
        `export { passLoop } from ${JSON.stringify(join(root, 'src/engine/pass.ts'))}`,
        `export { wasmPassLoop, setPassWasm } from ${JSON.stringify(join(root, 'src/engine/wasmPass.ts'))}`,
        `export * as ops from ${JSON.stringify(join(root, 'operators/index.ts'))}`,
      ].join('\n')
      const outfile = join(dir, 'bundle.mjs')
      await build({
        stdin: { contents: entry, resolveDir: root, loader: 'ts' },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'neutral',
        mainFields: ['module', 'main'],
        outfile,
        logLevel: 'silent',
      })
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}')
      const m = await import(pathToFileURL(outfile).href)
      m.setPassWasm('always')
      const o = m.ops
      const made = {
        adam: o.scaleByAdam(),
        momentum: o.scaleByMomentum(0.9),
        rms: o.scaleByRms(),
        belief: o.scaleByBelief(),
        lion: o.scaleByLion(),
        clip: o.clipByValue(1),
      }
      for (const [name, t] of Object.entries(made)) {
        const plan = m.planOf((t as { transform: { update: unknown } }).transform.update)
        const src = String(plan.rule)
        expect(src, name).not.toMatch(/\bold\b|\bnext\b/) // minified: the parameters renamed
        const c: Case = { rule: plan.rule, trees: plan.trees ?? [] }
        fc.assert(
          fc.property(fc.integer({ min: 1, max: 7 }), fc.gen(), (len, gen) => {
            const x = gen(() => inputs([c], len))
            const wasm = m.wasmPassLoop([plan.rule], true, [c.trees])
            expect(wasm, name).not.toBeNull()
            const got = runLoop(wasm, [c], x, len)
            const want = runLoop(m.passLoop([plan.rule], true, [c.trees]), [c], x, len)
            expect(got.map(bits)).toEqual(want.map(bits))
          }),
          { numRuns: 30, interruptAfterTimeLimit: 10_000 },
        )
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
