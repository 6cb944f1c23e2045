/**
 * The wire format of a live training run (version 1): one JSON object per state, sent as a
 * line of JSON-lines output or as the `data` of a Server-Sent Event. It is a summary of a
 * `TrainState` small enough to send every frame (step, loss, learning rate, gradient norm,
 * metrics, hyperparameters), optionally with the parameters, and it is the whole contract
 * between a publisher and the clients that plot it: a trainer in another language publishes to
 * the same clients by writing these lines (see examples/python/publish_numpy_run.py).
 *
 * ```text
 * { "v": 1,                       format version; a client refuses any other
 *   "step": 12,                   completed updates (integer ≥ 0); also the SSE event id
 *   "loss": 0.25,                 F: the objective the last update started from
 *   "lr": 0.1,                    F: the learning rate the last update used
 *   "gradNorm": 1.5,              F: the global L2 norm of the last gradient
 *   "evaluations": 36,            objective evaluations so far (integer ≥ 0)
 *   "metrics": { "testAcc": 0.9 } name → F (may be empty)
 *   "hyper": { "sgd.lr": 0.1 },   name → F (may be empty)
 *   "params": …,                  optional parameter tree, see below
 *   "stopReason": { "rule": "maxSteps", "steps": 100 },  optional, on the last state
 *   "run": "adam",                optional: which run of several this is
 *   "time": 1712.5 }              optional: milliseconds since the run started
 * ```
 *
 * F is a float64: a JSON number, or `{"$f64":"NaN"}`, `{"$f64":"Infinity"}`,
 * `{"$f64":"-Infinity"}`, `{"$f64":"-0"}` for the values JSON cannot write (the initial state's
 * loss and lr are NaN). Parameter trees use the checkpoint encoding of `src/state/json.ts`: a
 * number is F, a tensor is `{"shape":[2,3],"data":{"$f64le":"<base64 of the little-endian
 * doubles>"}}`, arrays and records nest.
 */
import * as t from 'io-ts'
import { isLeft } from 'fp-ts/lib/Either.js'
import { isTensor, sizeOf } from '../tensor/tensor.js'
import { globalNorm, type Params } from '../tree/tree.js'
import { decodeJson, encodeJson, describe, type Json, JsonDataError } from './json.js'
import type { StopReason, TrainState } from './types.js'

/** The version every frame carries in `v`; decoders refuse any other. */
export const WIRE_VERSION = 1

/** One state on the wire, decoded (NaN and ±Infinity are numbers again). */
export interface WireFrame {
  readonly v: 1
  readonly step: number
  readonly loss: number
  readonly lr: number
  readonly gradNorm: number
  readonly evaluations: number
  readonly metrics: { readonly [name: string]: number }
  readonly hyper: { readonly [name: string]: number }
  readonly params?: Params
  readonly stopReason?: StopReason
  readonly run?: string
  readonly time?: number
}

const nonNegativeInteger = new t.Type<number, number, unknown>(
  'a non-negative integer',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
  (u, c) =>
    typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c),
  (n) => n,
)

const float64 = new t.Type<number, number, unknown>(
  'a number',
  (u): u is number => typeof u === 'number',
  (u, c) => (typeof u === 'number' ? t.success(u) : t.failure(u, c)),
  (n) => n,
)

const paramsTree = new t.Type<Params, Params, unknown>(
  'a parameter tree (numbers, tensors {shape, data}, arrays, records)',
  (u): u is Params => checkParams(u) === undefined,
  (u, c) => (checkParams(u) === undefined ? t.success(u as Params) : t.failure(u, c)),
  (p) => p,
)

/** Why `u` is not a parameter tree with consistent tensor sizes, or undefined if it is one. */
function checkParams(u: unknown, depth = 0): string | undefined {
  if (depth > 32) return 'too deep'
  if (typeof u === 'number') return undefined
  if (isTensor(u)) {
    if (!u.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return 'bad shape'
    return sizeOf(u.shape) === u.data.length ? undefined : 'size mismatch'
  }
  if (Array.isArray(u)) {
    for (const x of u) {
      const why = checkParams(x, depth + 1)
      if (why) return why
    }
    return undefined
  }
  if (typeof u === 'object' && u !== null && Object.getPrototypeOf(u) === Object.prototype) {
    for (const x of Object.values(u)) {
      const why = checkParams(x, depth + 1)
      if (why) return why
    }
    return undefined
  }
  return 'not a tree'
}

const stopReason = new t.Type<StopReason, StopReason, unknown>(
  'a stop reason {rule: string, …}',
  (u): u is StopReason =>
    typeof u === 'object' && u !== null && typeof (u as StopReason).rule === 'string',
  (u, c) =>
    typeof u === 'object' && u !== null && typeof (u as StopReason).rule === 'string'
      ? t.success(u as StopReason)
      : t.failure(u, c),
  (s) => s,
)

/**
 * The frame's shape after `fromJson` has turned `{"$f64": …}` markers and base64 tensors back
 * into numbers and Float64Arrays.
 */
const frameShape = t.intersection([
  t.type({
    v: t.literal(WIRE_VERSION),
    step: nonNegativeInteger,
    loss: float64,
    lr: float64,
    gradNorm: float64,
    evaluations: nonNegativeInteger,
    metrics: t.record(t.string, float64),
    hyper: t.record(t.string, float64),
  }),
  t.partial({
    params: paramsTree,
    stopReason,
    run: t.string,
    time: float64,
  }),
])

/**
 * The io-ts codec of a wire frame: `decode` takes parsed JSON (`JSON.parse` of one line) and
 * yields a `WireFrame`; `encode` yields JSON-safe data for `JSON.stringify`. Unknown extra
 * fields are dropped, so later minor additions do not break old clients; a different `v` is
 * refused.
 *
 * @example
 * ```ts
 * import { wireFrame } from 'gradstream'
 *
 * const line =
 *   '{"v":1,"step":0,"loss":{"$f64":"NaN"},"lr":0.1,"gradNorm":0,"evaluations":0,"metrics":{},"hyper":{}}'
 * const r = wireFrame.decode(JSON.parse(line)) // an io-ts Either
 * if (r._tag === 'Right') console.log(r.right.step, r.right.loss) // → 0 NaN
 * ```
 */
export const wireFrame = new t.Type<WireFrame, Json, unknown>(
  'WireFrame',
  (u): u is WireFrame => frameShape.is(u),
  (u, c) => {
    let plain: unknown
    try {
      plain = decodeJson(u)
    } catch (e) {
      if (e instanceof JsonDataError) {
        return t.failure(
          e.problem.got,
          [...c, { key: e.problem.path, type: t.unknown, actual: e.problem.got }],
          `${e.problem.path || '(root)'}: expected ${e.problem.expected}, got ${describe(e.problem.got)}`,
        )
      }
      throw e
    }
    const r = frameShape.validate(plain, c)
    return isLeft(r) ? r : t.success(stripUnknown(r.right as WireFrame))
  },
  (f) => encodeJson(stripUnknown(f)),
)

const FIELDS = [
  'v',
  'step',
  'loss',
  'lr',
  'gradNorm',
  'evaluations',
  'metrics',
  'hyper',
  'params',
  'stopReason',
  'run',
  'time',
] as const

function stripUnknown(f: WireFrame): WireFrame {
  const out: Record<string, unknown> = {}
  for (const k of FIELDS) if (f[k] !== undefined) out[k] = f[k]
  return out as unknown as WireFrame
}

/** `step: expected a non-negative integer, got -1`: the first problem io-ts found. */
function report(errors: t.Errors): string {
  const e = errors[0]
  if (e.message) return e.message
  const path = e.context
    .map((c) => c.key)
    .filter((k) => k !== '' && !/^\d+$/.test(k))
    .join('.')
  const expected = e.context[e.context.length - 1]?.type.name ?? 'a value'
  return `${path || '(root)'}: expected ${expected}, got ${describe(e.value)}`
}

/**
 * Parses one line of the wire format into a frame.
 *
 * @example
 * ```ts
 * import { decodeWireLine } from 'gradstream'
 *
 * const frame = decodeWireLine(
 *   '{"v":1,"step":3,"loss":0.5,"lr":0.1,"gradNorm":2,"evaluations":9,"metrics":{},"hyper":{}}',
 * )
 * console.log(frame.step, frame.loss) // → 3 0.5
 * try {
 *   decodeWireLine('{"v":2}')
 * } catch (e) {
 *   console.log(String(e)) // → TypeError: decodeWireLine: v: expected 1, got 2
 * }
 * ```
 * @throws {TypeError} `decodeWireLine: <path>: expected <what>, got <value>`, or
 *   `decodeWireLine: line: expected one JSON object, got "{oops"` for text that is not JSON
 */
export function decodeWireLine(line: string): WireFrame {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    throw new TypeError(`decodeWireLine: line: expected one JSON object, got ${describe(line)}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError(`decodeWireLine: line: expected one JSON object, got ${describe(line)}`)
  }
  const r = wireFrame.decode(json)
  if (isLeft(r)) throw new TypeError(`decodeWireLine: ${report(r.left)}`)
  return r.right
}

/**
 * Writes a frame as one line of JSON (no trailing newline).
 *
 * @example
 * ```ts
 * import { encodeWireLine } from 'gradstream'
 *
 * const frame = {
 *   v: 1,
 *   step: 0,
 *   loss: NaN,
 *   lr: 0.1,
 *   gradNorm: 0,
 *   evaluations: 0,
 *   metrics: {},
 *   hyper: {},
 * } as const
 * console.log(encodeWireLine(frame))
 * // → {"v":1,"step":0,"loss":{"$f64":"NaN"},"lr":0.1,"gradNorm":0,"evaluations":0,"metrics":{},"hyper":{}}
 * ```
 */
export function encodeWireLine(frame: WireFrame): string {
  // a frame that is not one would go out as a line no reader accepts: refuse it here, by name
  const r = frameShape.validate(frame, [])
  if (isLeft(r)) {
    const line = report(r.left)
    throw new TypeError(
      `encodeWireLine: frame${line.startsWith('(root)') ? line.slice('(root)'.length) : `.${line}`}`,
    )
  }
  return JSON.stringify(wireFrame.encode(frame))
}

/** Options of `toWireFrame`. */
export interface ToWireFrameOptions {
  /** include the parameter tree (default false: large models would dominate the stream) */
  readonly params?: boolean
  /** names the run, for clients that show several */
  readonly run?: string
  /** milliseconds since the run started */
  readonly time?: number
}

/**
 * Summarises a training state as a wire frame: the gradient becomes its global norm (0 on the
 * initial state, which has none), the parameters are included only on request.
 *
 * @example
 * ```ts
 * import { last, pipe } from 'rxjs'
 * import { toWireFrame, train } from 'gradstream'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const f = (x: number[]) => ({ loss: x[0] ** 2 + x[1] ** 2, grad: [2 * x[0], 2 * x[1]] })
 * train({ params: [3, 4], step: pipe(gradient(f), sgd(0.25)) })
 *   .pipe(maxSteps(1), last())
 *   .subscribe((s) => {
 *     const { step, loss, gradNorm, params } = toWireFrame(s) // params only with { params: true }
 *     console.log(step, loss, gradNorm, params) // → 1 25 10 undefined
 *   })
 * ```
 */
export function toWireFrame(state: TrainState, options: ToWireFrameOptions = {}): WireFrame {
  // checked by hand, not by a codec: this runs for every frame a server or logger sends
  if (typeof state !== 'object' || state === null) {
    throw new TypeError(`toWireFrame: state: expected a training state, got ${describe(state)}`)
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`toWireFrame: options: expected an object, got ${describe(options)}`)
  }
  return {
    v: WIRE_VERSION,
    step: state.step,
    loss: state.loss,
    lr: state.lr,
    gradNorm: state.grad === null ? 0 : globalNorm(state.grad),
    evaluations: state.evaluations,
    metrics: { ...state.metrics },
    hyper: { ...state.hyper },
    ...(options.params ? { params: state.params } : {}),
    ...(state.stopReason ? { stopReason: state.stopReason } : {}),
    ...(options.run !== undefined ? { run: options.run } : {}),
    ...(options.time !== undefined ? { time: options.time } : {}),
  }
}
