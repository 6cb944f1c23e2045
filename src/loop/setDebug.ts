import { show } from '../errors.js'

/**
 * Debug mode: the switch. `GRADSTREAM_DEBUG=1` in the environment (Node) turns it on when
 * gradstream is loaded; `process` is looked up only if it exists, so the entry stays
 * browser-safe.
 */
let debugging =
  typeof process !== 'undefined' &&
  typeof process.env === 'object' &&
  process.env !== null &&
  process.env.GRADSTREAM_DEBUG === '1'

/**
 * Turns debug mode on or off for runs subscribed from now on (a run already going keeps the
 * mode it started with). In debug mode `train` checks, after every state it emits and before
 * the next step reads it, that no subscriber wrote into the state's arrays (parameters,
 * gradient, optimizer slots, any `Float64Array` the state holds): the typed arrays of a frozen
 * state cannot be frozen, so a write would otherwise change the rest of the run silently. A
 * write fails the run with a `TrainError` naming the array:
 * `train: step 4: state.params.w.data was changed by a subscriber after step 3`. Off by
 * default, and then it costs nothing (the check is not even a branch in the loop); on, each
 * step copies and compares the state's arrays once. Node: `GRADSTREAM_DEBUG=1` sets it at load.
 *
 * Only writes made while the state is being emitted are seen (what subscribers do when they
 * receive it, synchronously); a subscriber that keeps a state and writes into it later, or
 * behind an asynchronous scheduler, is not.
 *
 * @example
 * ```ts
 * import { pipe, take } from 'rxjs'
 * import { setDebug, tensor, train, type Tensor } from 'gradstream'
 * import { gradient, update } from 'gradstream/operators'
 *
 * setDebug(true)
 * const step = pipe(gradient((p: { w: Tensor }) => ({ loss: 0, grad: p })), update(0.1))
 * train({ params: { w: tensor([1, 2]) }, step })
 *   .pipe(take(5))
 *   .subscribe({
 *     next: (s) => {
 *       if (s.step === 3) (s.params.w.data as Float64Array)[0] = 0 // breaks "states are values"
 *     },
 *     error: (e) => console.log(e.message),
 *     // → train: step 4: state.params.w.data was changed by a subscriber after step 3
 *   })
 * setDebug(false)
 * ```
 * @param on `true` to check, `false` (the default) not to
 * @throws {TypeError} `setDebug: on: expected a boolean, got 1`
 * @see train, TrainError
 */
export function setDebug(on: boolean): void {
  if (typeof on !== 'boolean') {
    throw new TypeError(`setDebug: on: expected a boolean, got ${show(on)}`)
  }
  debugging = on
}

/** Whether debug mode is on (read by `train` once per run). */
export function isDebug(): boolean {
  return debugging
}

/**
 * The arrays of one emitted state and copies of their bytes. The copies live in buffers the
 * run reuses from state to state (the k-th array's copy in the k-th buffer while its size
 * stays), so a step allocates nothing once the run has settled: a state is compared before the
 * next one is taken.
 */
interface Snapshot {
  readonly paths: string[]
  readonly arrays: ArrayBufferView[]
  readonly copies: (Int32Array | Uint8Array)[]
}

/** An int32 (else byte) view of `a`'s bytes, to compare bit patterns (NaN, −0 included). */
function bytesOf(a: ArrayBufferView): Int32Array | Uint8Array {
  return a.byteOffset % 4 === 0 && a.byteLength % 4 === 0
    ? new Int32Array(a.buffer, a.byteOffset, a.byteLength / 4)
    : new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

const IDENT = /^[A-Za-z_$][\w$]*$/

/**
 * Every typed array reachable from `s` through own data properties (never a getter: reading
 * one may compute, as a lazily gathered batch does), with its path from `state`; each array
 * once (the first path that reaches it), cycles ignored.
 */
function snapshot(s: object, copies: (Int32Array | Uint8Array)[]): Snapshot {
  const paths: string[] = []
  const arrays: ArrayBufferView[] = []
  const seen = new Set<object>()
  const walk = (v: unknown, path: string) => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return
    seen.add(v)
    if (ArrayBuffer.isView(v)) {
      if (v instanceof DataView) return
      const bytes = bytesOf(v)
      const k = arrays.length
      const old = copies[k]
      if (old === undefined || old.length !== bytes.length || old.constructor !== bytes.constructor)
        copies[k] = bytes.slice()
      else old.set(bytes)
      paths.push(path)
      arrays.push(v)
      return
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${path}[${i}]`)
      return
    }
    for (const key of Object.keys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)
      if (d === undefined || !('value' in d)) continue
      walk(d.value, IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`)
    }
  }
  walk(s, 'state')
  return { paths, arrays, copies }
}

/** The path of the first array whose bytes differ from its copy, or null. */
function changed(snap: Snapshot): string | null {
  for (let k = 0; k < snap.arrays.length; k++) {
    const now = bytesOf(snap.arrays[k])
    const was = snap.copies[k]
    if (now.length !== was.length) return snap.paths[k]
    for (let i = 0; i < now.length; i++) if (now[i] !== was[i]) return snap.paths[k]
  }
  return null
}

/**
 * `emit` itself when debug mode is off; on, `emit` wrapped so that each state's arrays are
 * copied before it goes out and compared when its subscribers are done with it, a difference
 * reported to `violated` (the run's failure) before the next step can read the state.
 */
export function checkedEmit<S extends { readonly step: number }>(
  emit: (s: S) => void,
  violated: (e: Error) => void,
): (s: S) => void {
  if (!debugging) return emit
  const buffers: (Int32Array | Uint8Array)[] = []
  let emitting = false
  return (s) => {
    // a state emitted from inside a subscriber of the previous one (a resumed pausable run)
    // gets buffers of its own: the shared ones still hold the outer state's copies
    const nested = emitting
    const snap = snapshot(s, nested ? [] : buffers)
    emitting = true
    try {
      emit(s)
    } finally {
      emitting = nested
    }
    const path = changed(snap)
    if (path !== null) {
      violated(new Error(`${path} was changed by a subscriber after step ${s.step}`))
    }
  }
}
