import { freeze } from 'immer'
import { TrainStateC } from './codecs.js'
import { decode } from './decode.js'
import { JsonDataError, decodeJson, describe, encodeJson } from './json.js'
import type { TrainState } from './types.js'

/** The envelope's `format` field: what this JSON is. */
export const CHECKPOINT_FORMAT = 'gradstream-checkpoint'
/** The version of the encoding `checkpoint` writes (see `src/state/json.ts`). */
export const CHECKPOINT_VERSION = 1

/**
 * The whole training state as a versioned JSON string — parameters, gradient, optimizer slots,
 * step (which is the schedules' position), the random generator's state, loss history and
 * metrics — with every double exact (−0, NaN, ±Infinity tagged; tensors as base64 of their
 * little-endian bytes). The text has no trailing newline, so any truncation makes it invalid.
 *
 * Envelope: `{"format":"gradstream-checkpoint","version":1,"state":{…}}`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { checkpoint, restore, train, type TrainState } from 'gradstream'
 * import { gradient, maxSteps, momentum } from 'gradstream/operators'
 *
 * const step = pipe(
 *   gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })),
 *   momentum(0.1),
 * )
 * let state!: TrainState
 * train({ params: [1], step })
 *   .pipe(maxSteps(5), last())
 *   .subscribe((s) => (state = s))
 * const json = checkpoint(state) // a string: params, optimizer slots, rng, history…
 * console.log(json.slice(0, 46)) // → {"format":"gradstream-checkpoint","version":1,
 * const back = restore(json)
 * console.log(back.step, back.params, checkpoint(back) === json)
 * // → 5 [ -0.5804200000000004 ] true
 * ```
 * @throws {TypeError} `checkpoint: state.opt.f: expected plain data (…), got a function`
 */
export function checkpoint(state: TrainState): string {
  const valid = decode(TrainStateC, state, 'checkpoint', 'state')
  let body
  try {
    body = encodeJson(valid)
  } catch (e) {
    if (e instanceof JsonDataError) {
      throw new TypeError(`checkpoint: ${prefix('state', e.message)}`)
    }
    throw e
  }
  return JSON.stringify({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, state: body })
}

const prefix = (root: string, message: string) =>
  message.startsWith('(root)')
    ? root + message.slice('(root)'.length)
    : message.startsWith('[')
      ? root + message
      : `${root}.${message}`

/**
 * Reads a checkpoint written by `checkpoint` back into a deeply frozen `TrainState`. Never
 * evaluates code, refuses `__proto__` / `constructor` / `prototype` keys, and reports every
 * problem as `restore: path: expected <what>, got <value>`.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { checkpoint, restore, train, type TrainState } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const step = pipe(gradient((x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })), sgd(0.1))
 * let state!: TrainState
 * train({ params: [1], step }).pipe(maxSteps(3), last()).subscribe((s) => (state = s))
 * console.log(restore(checkpoint(state)).step === state.step) // → true
 * try {
 *   restore('{"format":"gradstream-checkpoint","version":9,"state":{}}')
 * } catch (e) {
 *   console.log(String(e)) // → RangeError: restore: version: expected 1, got 9
 * }
 * ```
 * @throws {TypeError} `restore: json: expected a complete JSON checkpoint, got invalid JSON (Unexpected end of JSON input)`
 */
export function restore(json: string): TrainState {
  return parseCheckpoint(json, 'restore')
}

/** `restore` with another function's name in its messages (`resume: state.step: …`). */
export function parseCheckpoint(json: string, fn: string): TrainState {
  if (typeof json !== 'string') {
    throw new TypeError(`${fn}: json: expected a string, got ${describe(json)}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (e) {
    throw new TypeError(
      `${fn}: json: expected a complete JSON checkpoint, got invalid JSON (${(e as Error).message})`,
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TypeError(`${fn}: (root): expected a checkpoint object, got ${describe(parsed)}`)
  }
  const env = parsed as Record<string, unknown>
  if (env.format !== CHECKPOINT_FORMAT) {
    throw new TypeError(
      `${fn}: format: expected ${JSON.stringify(CHECKPOINT_FORMAT)}, got ${describe(env.format)}`,
    )
  }
  if (env.version !== CHECKPOINT_VERSION) {
    const r = typeof env.version === 'number' ? RangeError : TypeError
    throw new r(`${fn}: version: expected ${CHECKPOINT_VERSION}, got ${describe(env.version)}`)
  }
  // `run`: what a program records beside the state (the CLI: its flags and recent losses)
  const extra = Object.keys(env).filter((k) => !['format', 'version', 'state', 'run'].includes(k))
  if (extra.length > 0) {
    throw new TypeError(
      `${fn}: ${extra[0]}: expected no such key (known: format, version, state, run), got ${describe(env[extra[0]])}`,
    )
  }
  let data: unknown
  try {
    data = decodeJson(env.state)
  } catch (e) {
    if (e instanceof JsonDataError) throw new TypeError(`${fn}: ${prefix('state', e.message)}`)
    throw e
  }
  return freeze(decode(TrainStateC, data, fn, 'state'), true)
}
