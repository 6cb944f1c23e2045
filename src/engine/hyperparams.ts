import * as T from 'io-ts'
import { isObservable, type Observable } from 'rxjs'
import { show } from '../errors.js'
import {
  expectedKind,
  finiteNumber,
  nonNegativeNumber,
  numberIn,
  positiveNumber,
} from '../state/codecs.js'
import { decode } from '../state/decode.js'
import { describe } from '../state/json.js'
import type { StageRun } from './fusion.js'

/**
 * A schedule: the value a hyperparameter takes at a step (the number of updates completed
 * before the one it is used for: the first update uses `schedule(0)`).
 */
export type Schedule = (step: number) => number

/**
 * How any hyperparameter may be given: a constant, a schedule, or an Observable whose latest
 * value is used at each step (a UI slider).
 *
 * An Observable is subscribed when the step pipeline is subscribed (once per run) and
 * unsubscribed with it. Before its first emission there is no value to use, and the step
 * fails with `fn: field at step k: expected the Observable to have emitted, got nothing yet
 * (…)`: give it a first value with `startWith(x)` or use a `BehaviorSubject`. After it
 * completes, its last value stays in use; if it errors, the run errors.
 */
export type Hyperparam = number | Schedule | Observable<number>

/**
 * What a hyperparameter's value must satisfy: a number codec of src/state/codecs.ts, named by
 * what it expects (`numberIn(0, 1)` is `a number in [0, 1)`). The option codecs are built from
 * the same ones (`hyperparamC`), so a range is spelled once.
 */
export type HyperRule = T.Type<number, number, unknown>

export const finite: HyperRule = finiteNumber
export const positive: HyperRule = positiveNumber
export const nonNegative: HyperRule = nonNegativeNumber
/** [0, 1): decay rates and momenta. */
export const unitInterval: HyperRule = numberIn(0, 1)
/** [0, 1]: interpolation weights. */
export const closedUnitInterval: HyperRule = numberIn(0, 1, false)

const hyperCodecs = new WeakMap<HyperRule, T.Type<Hyperparam, Hyperparam, unknown>>()

/**
 * The codec of a hyperparameter whose constant value satisfies `constant`: a number (checked
 * now), a schedule `(step) => number` or an Observable<number> (checked at each step). Options
 * codecs use it for their hyperparameter fields; `hyperparam` checks a lone value with it.
 */
export function hyperparamC(constant: HyperRule): T.Type<Hyperparam, Hyperparam, unknown> {
  const known = hyperCodecs.get(constant)
  if (known !== undefined) return known
  const name = 'a number, a schedule (step) => number or an Observable<number>'
  const varying = (u: unknown) => typeof u === 'function' || isObservable(u)
  const c = new T.Type<Hyperparam, Hyperparam, unknown>(
    name,
    (u): u is Hyperparam => varying(u) || constant.is(u),
    (u, ctx) =>
      typeof u === 'number'
        ? constant.is(u)
          ? T.success(u)
          : T.failure(u, ctx, `expected ${constant.name}, got ${describe(u)}`)
        : varying(u)
          ? T.success(u as Hyperparam)
          : T.failure(u, ctx),
    (a) => a,
  )
  expectedKind.set(c, 'number') // only a number can be out of range
  hyperCodecs.set(constant, c)
  return c
}

/** A validated hyperparameter: where it belongs (for messages), its source and its rule. */
export interface HyperSpec {
  readonly fn: string
  readonly field: string
  readonly value: Hyperparam
  readonly rule: HyperRule
}

/**
 * Validates a hyperparameter when the operator is built: a number must satisfy `rule` now
 * (`constRule` may be stricter, e.g. a constant learning rate must be positive although a
 * schedule may reach 0); a schedule or Observable is checked at each step.
 *
 * @throws {TypeError} `adam: lr: expected a number, a schedule (step) => number or an Observable<number>, got "x"`
 * @throws {RangeError} `adam: lr: expected a positive finite number, got -0.1`
 */
export function hyperparam(
  fn: string,
  field: string,
  value: unknown,
  rule: HyperRule,
  constRule: HyperRule = rule,
): HyperSpec {
  decode(hyperparamC(constRule), value, fn, field) // the options' codecs check fields alike
  const spec: HyperSpec = Object.freeze({ fn, field, value: value as Hyperparam, rule })
  validated.add(spec)
  return spec
}

const validated = new WeakSet<object>()

/** Whether `x` came from `hyperparam` (a validated spec, not a user's raw value). */
export function isHyperSpec(x: unknown): x is HyperSpec {
  return typeof x === 'object' && x !== null && validated.has(x)
}

const NONE: unique symbol = Symbol('no value yet')
type Latest = number | typeof NONE

/** The value `spec` takes at `step`, validated; `latest` is an Observable's latest emission. */
function resolve(spec: HyperSpec, step: number, latest: Latest | undefined): number {
  const { fn, field, value, rule } = spec
  let v: unknown
  if (typeof value === 'number') return value
  if (typeof value === 'function') v = value(step)
  else if (latest === NONE || latest === undefined) {
    throw new Error(
      `${fn}: ${field} at step ${step}: expected the Observable to have emitted, got nothing yet (give it a first value: startWith(x) or a BehaviorSubject)`,
    )
  } else v = latest
  if (!rule.is(v)) {
    const E = typeof v === 'number' ? RangeError : TypeError
    throw new E(`${fn}: ${field} at step ${step}: expected ${rule.name}, got ${show(v)}`)
  }
  return v
}

/**
 * For a fused stage (see src/engine/fusion.ts; every stage and transform resolves its
 * hyperparameters this way): `spec`'s validated value at a step (a constant as it is, a
 * schedule called, an Observable's latest value), without an operator hop. An Observable is subscribed now, once per run, and
 * unsubscribed with the run; its error becomes the run's error, and its last value stays in use
 * after it completes.
 */
export function hyperAt(spec: HyperSpec, run: StageRun): (step: number) => number {
  const fixed = fixedAt(spec)
  if (fixed !== null) return fixed
  const value = spec.value as Observable<number>
  let latest: Latest = NONE
  run.add(
    value.subscribe({
      next: (v) => {
        latest = v
      },
      error: (e: unknown) => run.error(e),
    }),
  )
  return (step) => resolve(spec, step, latest)
}

/**
 * `hyperAt` for a constant or a schedule, which need no run: one function serves every run
 * (the engine makes it once per chain). Null for an Observable (subscribed per run).
 */
export function fixedAt(spec: HyperSpec): ((step: number) => number) | null {
  const { value } = spec
  if (typeof value === 'number') return () => value
  if (typeof value === 'function') return (step) => resolve(spec, step, undefined)
  return null
}

type HyperRecord = { readonly [name: string]: number }

/**
 * `{ ...h, [names[i]]: values[i] }` (frozen), built only when it would differ from what was
 * built last time. The record a state carries is then the same object step after step in a
 * steady run, and `{ ...h }` is not copied per transform per step: either the incoming record
 * is the one built last time from the same record and values, or it already holds these
 * values under these names (reused as it is). What it returns depends on `h` and the values
 * only, so the runs of one chain share one recorder.
 *
 * The values are kept in a Float64Array: a fresh `[]` per run would start as an array of small
 * integers and change kind at the run's first value, undoing the step's optimised code in
 * every run (bench/loop.bench.ts runs many).
 */
export function hyperRecorder(
  names: readonly string[],
): (h: HyperRecord, values: ArrayLike<number>) => HyperRecord {
  let lastIn: HyperRecord | null = null
  let lastOut: HyperRecord | null = null
  const lastValues = new Float64Array(names.length)
  return (h, values) => {
    if ((h === lastIn || h === lastOut) && sameValues(values, lastValues)) return lastOut!
    let out: HyperRecord
    if (holds(h, names, values) && Object.isFrozen(h)) out = h
    else {
      const o: Record<string, number> = { ...h }
      for (let k = 0; k < names.length; k++) o[names[k]] = values[k]
      out = Object.freeze(o)
    }
    lastIn = h
    lastOut = out
    lastValues.set(values)
    return out
  }
}

/** Whether `h` records `values` under `names`, by Object.is (−0 and 0 differ). */
function holds(h: HyperRecord, names: readonly string[], values: ArrayLike<number>): boolean {
  for (let k = 0; k < names.length; k++) {
    if (!Object.hasOwn(h, names[k]) || !Object.is(h[names[k]], values[k])) return false
  }
  return true
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false
  return true
}
