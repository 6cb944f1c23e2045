import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import fc from 'fast-check'
import { of } from 'rxjs'
import { afterAll, describe, expect, it } from 'vitest'
import * as gradstream from 'gradstream'
import * as nodeEntry from 'gradstream/node'
import * as operators from 'gradstream/operators'
import { isDebug } from '../../src/loop/setDebug.js'

// Issue 19's fuzz pass over the public surface: every exported function and operator of
// `gradstream`, `gradstream/operators` and `gradstream/node` (and the methods of the `ad`
// namespace) called with generated bad arguments — wrong types, NaN / ±∞ / −0, empty and huge
// shapes, cyclic objects, `__proto__` keys, getters that throw — mixed with good ones so the
// later arguments get checked too. Each call must return, or throw an Error whose message has the
// project's form `fn: …` (not a bare engine error such as "Cannot read properties of undefined");
// an error thrown by the hostile input itself (its getter, its function) may pass through. After
// every call: no property added to Object/Array/Function.prototype, no global setting (debug mode,
// kernel backend, kernel threads) left changed by a call that threw, and no good input tensor
// written into. A hang fails the test by its timeout. Calls are checked at construction: returned
// Observables are not subscribed and returned operators are not applied (the project validates
// arguments when an operator is built).

/** Thrown by hostile inputs (getters, callbacks): passing it through is the right behaviour. */
class HostileError extends Error {
  override name = 'HostileError'
}
const hostile = () => {
  throw new HostileError('hostile input')
}

/** Bad values, each made fresh for a call. */
const badValues: (() => unknown)[] = [
  () => undefined,
  () => null,
  () => true,
  () => '',
  () => 'x',
  () => '__proto__',
  () => 'constructor',
  () => Symbol('s'),
  () => 10n,
  () => NaN,
  () => Infinity,
  () => -Infinity,
  () => -0,
  () => 0,
  () => -1,
  () => 0.5,
  () => 1e308,
  () => 2 ** 53,
  () => 1e12,
  () => Number.MIN_VALUE,
  () => [],
  () => [[]],
  () => [NaN, Infinity],
  () => [1, 'a'],
  () => new Array(3),
  () => [1e12, 1e12],
  () => {
    const a: unknown[] = [1]
    a.push(a)
    return a
  },
  () => ({}),
  () => Object.create(null),
  () => {
    const o: Record<string, unknown> = { a: 1 }
    o.self = o
    return o
  },
  () => JSON.parse('{"__proto__": {"polluted": "yes"}, "shape": [1], "data": [1]}'),
  () => ({ constructor: { prototype: { polluted: 'yes' } } }),
  () => new Proxy({}, { get: hostile, has: hostile, ownKeys: hostile, getPrototypeOf: hostile }),
  () =>
    Object.defineProperty({ data: new Float64Array(1) }, 'shape', {
      get: hostile,
      enumerable: true,
    }),
  () => ({ shape: [2], data: [1, 2] }),
  () => ({ shape: [1e12], data: new Float64Array(0) }),
  () => ({ shape: [-1], data: new Float64Array(0) }),
  () => ({ shape: [2, 2], data: new Float64Array(3) }),
  () => ({ shape: [NaN], data: new Float64Array(1) }),
  () => ({ shape: [], data: new Float64Array(0) }),
  () => ({ shape: [0, 3], data: new Float64Array(0) }),
  () => new Float64Array(0),
  () => Float64Array.of(NaN, -0, Infinity),
  () => new Uint8Array(2),
  () => () => NaN,
  () => () => Infinity,
  () => () => undefined,
  () => hostile,
  () => new Date(NaN),
  () => new Map([[1, 2]]),
  () => of(NaN),
]

/** Good values: what a correct call would pass, so that later arguments are reached. */
const goodTensors = new Set<Float64Array>()
const good = (t: gradstream.Tensor) => (goodTensors.add(t.data), t)
const goodValues: (() => unknown)[] = [
  () => good(gradstream.tensor([1, 2])),
  () =>
    good(
      gradstream.tensor([
        [1, 2],
        [3, 4],
      ]),
    ),
  () => 1,
  () => 0.1,
  () => 2,
  () => [1, 2],
  () => ({ w: good(gradstream.tensor([1, 2])) }),
  () => (x: unknown) => (typeof x === 'number' ? x * x : 0),
  () => (p: unknown) => ({ loss: 0, grad: p }),
  () => ({}),
]

const arg = fc.oneof(
  { arbitrary: fc.nat(badValues.length - 1).map((i) => badValues[i]), weight: 3 },
  { arbitrary: fc.nat(goodValues.length - 1).map((i) => goodValues[i]), weight: 2 },
)

/** Exported names left out, and why (printed in the summary). */
const notCovered: Record<string, string> = {
  exposeTraining:
    'installs a message handler on the current worker port: inside vitest’s own worker it would ' +
    'answer vitest’s messages (its argument check is one expectFunction, tested in test/remote)',
  serveStates: 'opens a listening socket on valid options (covered by test/remote)',
}

/**
 * Found by this pass in code other helpers own, too large to fix here: their failures are
 * counted and printed as "listed", not failing the test. Each entry says what was found; the
 * fix belongs to the code's owner (see notes/issue-19.md). Remove an entry once fixed: the test
 * then holds it to the rule.
 */
const listed: Record<string, string> = {
  // the error classes behave as Error does: a message that cannot become a string (a Symbol, an
  // object without a prototype) makes the engine throw, as `new Error(Symbol())` does
  ShapeError: 'as Error: new ShapeError(Symbol()) throws the engine’s TypeError',
  TrainError: 'as Error: a cause that cannot become a string throws the engine’s TypeError',
  ServerSentStatesError: 'as Error (see ShapeError)',
  WorkerRunError: 'as Error (see TrainError)',
}

/**
 * Arguments reshaped for functions whose valid calls would do heavy or lasting work: loadMnist
 * reads at most 10 + 10 images (the full set is 60,000: ~400 MB a call).
 */
const shapeArgs: Record<string, (args: unknown[]) => unknown[]> = {
  loadMnist: (a) => [
    typeof a[0] === 'object' && a[0] !== null && !Array.isArray(a[0])
      ? { trainSize: 10, testSize: 10, ...(a[0] as object) }
      : a[0] === undefined
        ? { trainSize: 10, testSize: 10 }
        : a[0],
    ...a.slice(1),
  ],
}

/** Runs per function: the global numRuns (FC_NUM_RUNS, 200 by default) unless heavy. */
const runsFor: Record<string, number> = { loadMnist: 20, twoLayerNetNumericalGradientParallel: 30 }

/** Engine errors that mean an argument reached code that did not check it. */
const NATIVE =
  /Cannot (read|set|convert|mix|destructure|access|create)|is not (a function|iterable|defined|a constructor|an object)|Invalid (typed )?array length|Maximum call stack|Converting circular|Array buffer allocation|out of memory|is not valid JSON|Invalid array buffer length|Start offset|Offset is outside|undefined is not|null is not|Reduce of empty array/

type Entry = { name: string; fn: (...a: unknown[]) => unknown; isClass: boolean }

function entries(): Entry[] {
  const out: Entry[] = []
  const add = (name: string, v: unknown) => {
    if (typeof v !== 'function' || name in notCovered) return
    const isClass = /^class[\s{]/.test(Function.prototype.toString.call(v))
    out.push({ name, fn: v as (...a: unknown[]) => unknown, isClass })
  }
  for (const [name, v] of Object.entries(gradstream)) add(name, v)
  for (const [name, v] of Object.entries(gradstream.ad)) add(`ad.${name}`, v)
  for (const [name, v] of Object.entries(operators)) add(name, v)
  for (const [name, v] of Object.entries(nodeEntry)) add(name, v)
  return out
}

const PROTOS = [Object.prototype, Array.prototype, Function.prototype, Float64Array.prototype]
const protoKeys = () => PROTOS.map((p) => Reflect.ownKeys(p).length)
const globals = () => ({
  debug: isDebug(),
  backend: gradstream.getKernelBackend(),
  threads: gradstream.getKernelThreads(),
})
/** functions that write into an argument by contract (the `out` of a kernel) */
const writesInto = new Set(['matmulInto', 'gemm'])

interface Tally {
  inputs: number
  returned: number
  threw: number
  passedThrough: number
  /** the first few failures, with their arguments */
  failures: string[]
  failed: number
  listed: number
}
const tallies = new Map<string, Tally>()
const cwdBefore = new Set(readdirSync('.'))

/** Why an outcome is a failure, or null. */
function judge(e: unknown): 'passed' | string | null {
  if (e instanceof HostileError) return 'passed'
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`
  const m = e.message
  // the project's form starts with a name (`adam: lr: …`, `train mnist: …`); an engine's
  // message does not (`Cannot read properties …`, `Invalid typed array length: …`)
  const named = /^[A-Za-z_$][\w$]*(\.[\w$]+)*( [\w-]+)?: \S/.exec(m)
  if (named === null || NATIVE.test(named[0])) return `unclear ${e.name}: ${m.slice(0, 200)}`
  return null
}

function describeArgs(args: unknown[]): string {
  return args
    .map((a) => {
      try {
        if (typeof a === 'symbol' || typeof a === 'bigint') return String(a)
        if (typeof a === 'function') return `fn(${a.length})`
        return fc.stringify(a).slice(0, 80)
      } catch {
        return '<unprintable>'
      }
    })
    .join(', ')
}

/** FUZZ_LOG=<file>: each call's function and arguments appended before it runs (find a hang) */
const log = process.env.FUZZ_LOG

async function call(entry: Entry, rawArgs: unknown[], tally: Tally): Promise<void> {
  let args = rawArgs
  try {
    // reshaping spreads the arguments, which reads their getters: a hostile getter throws here
    args = shapeArgs[entry.name]?.(rawArgs) ?? rawArgs
  } catch (e) {
    if (!(e instanceof HostileError)) throw e
    tally.inputs++
    tally.passedThrough++
    return
  }
  if (log !== undefined) appendFileSync(log, `${entry.name}(${describeArgs(args)})\n`)
  const before = globals()
  const keys = protoKeys()
  const copies = new Map<Float64Array, Float64Array>()
  for (const t of goodTensors) copies.set(t, t.slice())
  let threw: unknown = null
  let outcome = 'returned'
  try {
    const r = entry.isClass
      ? new (entry.fn as unknown as new (...a: unknown[]) => unknown)(...args)
      : entry.fn(...args)
    if (r instanceof Promise) await r
  } catch (e) {
    threw = e
    outcome = 'threw'
  }
  tally.inputs++
  const fail = (why: string) => {
    if (entry.name in listed) tally.listed++
    else {
      tally.failed++
      if (tally.failures.length < 5) tally.failures.push(`${why} — args: ${describeArgs(args)}`)
    }
  }
  if (threw === null) tally.returned++
  else {
    const verdict = judge(threw)
    if (verdict === 'passed') tally.passedThrough++
    else if (verdict !== null) fail(verdict)
    else tally.threw++
  }
  if (
    ({} as Record<string, unknown>).polluted !== undefined ||
    protoKeys().join() !== keys.join()
  ) {
    fail('prototype polluted')
    delete (Object.prototype as Record<string, unknown>).polluted
  }
  const after = globals()
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    if (outcome === 'threw')
      fail(`a call that threw changed ${JSON.stringify(before)} → ${JSON.stringify(after)}`)
    gradstream.setDebug(before.debug)
    gradstream.setKernelBackend(before.backend)
    gradstream.setKernelThreads(before.threads)
  }
  if (!writesInto.has(entry.name)) {
    for (const [t, copy] of copies)
      if (t.some((v, i) => !Object.is(v, copy[i]))) fail('wrote into a good input tensor')
  }
  goodTensors.clear()
}

const all = entries()
/** one seed for every function's draws, printed with the summary (replay: FC_SEED=<seed>) */
const seed = fc.readConfigureGlobal().seed ?? Date.now() % 2 ** 31

describe('fuzz: the public surface', () => {
  for (const entry of all) {
    it(entry.name, async () => {
      const tally: Tally = {
        inputs: 0,
        returned: 0,
        threw: 0,
        passedThrough: 0,
        failures: [],
        failed: 0,
        listed: 0,
      }
      tallies.set(entry.name, tally)
      const arity = Math.max(entry.fn.length, 1) + 1
      const argsArb = fc
        .array(arg, { minLength: 0, maxLength: arity })
        .map((fs) => fs.map((f) => f()))
      const samples = fc.sample(argsArb, {
        seed,
        numRuns: runsFor[entry.name] ?? fc.readConfigureGlobal().numRuns ?? 200,
      })
      for (const args of samples) await call(entry, args, tally)
      await nodeEntry.closeWorkers()
      expect(tally.failures, `${entry.name} (replay: FC_SEED=${seed})`).toEqual([])
    })
  }

  afterAll(async () => {
    await nodeEntry.closeWorkers()
    const rows = [...tallies].map(
      ([name, t]) =>
        `${name}: ${t.inputs} inputs (returned ${t.returned}, named errors ${t.threw}, hostile passed through ${t.passedThrough}, failures ${t.failed}${t.listed ? `, listed issue: ${t.listed}` : ''})`,
    )
    const inputs = [...tallies.values()].reduce((s, t) => s + t.inputs, 0)
    const failures = [...tallies.values()].reduce((s, t) => s + t.failed, 0)
    const listedInputs = [...tallies.values()].reduce((s, t) => s + t.listed, 0)
    const newFiles = readdirSync('.').filter((f) => !cwdBefore.has(f) && f !== 'test-results')
    mkdirSync('test-results', { recursive: true })
    writeFileSync(
      'test-results/fuzz-public-surface.json',
      JSON.stringify({ seed, tallies: Object.fromEntries(tallies), notCovered, listed }, null, 1),
    )
    console.log(
      [
        ...rows,
        `listed issues (others' code): ${Object.entries(listed)
          .map(([k, why]) => `${k}: ${tallies.get(k)?.listed ?? 0} inputs (${why})`)
          .join('; ')}`,
        `not covered: ${Object.entries(notCovered)
          .map(([k, why]) => `${k} (${why})`)
          .join('; ')}`,
        `files left in the working directory: ${newFiles.length ? newFiles.join(', ') : 'none'}`,
        `fuzz summary (seed ${seed}): ${tallies.size} functions covered, ${inputs} inputs tried, ${failures} failures (${listedInputs} more in the listed issues)`,
      ].join('\n'),
    )
  })
})
