import { isObservable, type Observable } from 'rxjs'
import { show } from '../errors.js'
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

/** What a hyperparameter's value must satisfy, and how a message says so. */
export interface HyperRule {
  readonly expected: string
  readonly ok: (v: number) => boolean
}

export const finite: HyperRule = {
  expected: 'a finite number',
  ok: (v) => Number.isFinite(v),
}
export const positive: HyperRule = {
  expected: 'a positive finite number',
  ok: (v) => Number.isFinite(v) && v > 0,
}
export const nonNegative: HyperRule = {
  expected: 'a non-negative finite number',
  ok: (v) => Number.isFinite(v) && v >= 0,
}
/** [0, 1): decay rates and momenta. */
export const unitInterval: HyperRule = {
  expected: 'a number in [0, 1)',
  ok: (v) => v >= 0 && v < 1,
}
/** [0, 1]: interpolation weights. */
export const closedUnitInterval: HyperRule = {
  expected: 'a number in [0, 1]',
  ok: (v) => v >= 0 && v <= 1,
}

/** A validated hyperparameter: where it belongs (for messages), its source and its rule. */
export interface HyperSpec {
  readonly fn: string
  readonly field: string
  readonly value: Hyperparam
  readonly rule: HyperRule
}

const kindMessage = (fn: string, field: string, v: unknown) =>
  `${fn}: ${field}: expected a number, a schedule (step) => number or an Observable<number>, got ${show(v)}`

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
  if (typeof value === 'number') {
    if (!constRule.ok(value)) {
      throw new RangeError(`${fn}: ${field}: expected ${constRule.expected}, got ${show(value)}`)
    }
  } else if (typeof value !== 'function' && !isObservable(value)) {
    throw new TypeError(kindMessage(fn, field, value))
  }
  return { fn, field, value: value as Hyperparam, rule }
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
  if (typeof v !== 'number' || !rule.ok(v)) {
    const E = typeof v === 'number' ? RangeError : TypeError
    throw new E(`${fn}: ${field} at step ${step}: expected ${rule.expected}, got ${show(v)}`)
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
  const { value } = spec
  if (typeof value === 'number') return () => value
  if (typeof value === 'function') return (step) => resolve(spec, step, undefined)
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
