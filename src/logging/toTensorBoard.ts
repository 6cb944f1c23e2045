import * as fs from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { MonoTypeOperatorFunction } from 'rxjs'
import type * as t from 'io-ts'
import {
  booleanC,
  configType,
  optional,
  PlainDataC,
  positiveInteger,
  positiveNumber,
  stringC,
} from '../state/codecs.js'
import { decode, decodeOptions } from '../state/decode.js'
import type { TrainState } from '../state/types.js'
import { fileVersionEvent, histogramOf, summaryEvent, type SummaryValue } from './eventInternals.js'
import { wantSumsOfSquares } from '../tensor/kernels/sumOfSquaresKernel.js'
import { BufferedFile, writingTo } from './fileSinkInternals.js'
import { leavesOf, normOf } from './leavesInternals.js'
import { appendTfRecord, tfRecord } from './tfRecordInternals.js'

const ToTensorBoardOptionsC = configType('toTensorBoard options', {
  /** write a histogram of every parameter leaf (tag `params/<path>`) every this many steps */
  histogramsEvery: optional(positiveInteger),
  /** the run's configuration, written once as JSON text (tag `config`, the text plugin) */
  config: optional(PlainDataC),
  /** milliseconds between writes of the buffer (default 2000) */
  flushEveryMs: optional(positiveNumber),
  /** write `gradNorm`, ‖grad‖₂, every step (default true; it reads the whole gradient) */
  gradNorm: optional(booleanC),
})

/** Options of `toTensorBoard`. */
export type ToTensorBoardOptions = t.TypeOf<typeof ToTensorBoardOptionsC>

/**
 * Passes every state through unchanged and appends it to a TensorBoard event file in `logdir`
 * (`events.out.tfevents.<unix seconds>.<hostname>`, created on subscription, with the folder):
 * TFRecord framing, `Event` protobufs, the first a `file_version: "brain.Event:2"`. Each state
 * is one event at its `step` with the scalars (`Summary.Value.simple_value`, float32) `loss`,
 * `lr`, `gradNorm` (‖grad‖₂ over the whole tree) — except the initial state, which has no
 * gradient yet — and every entry of `state.metrics` under its own name (`trainAcc`, `testAcc`);
 * with `histogramsEvery: n`, every n steps a histogram of each parameter leaf
 * (`params/W1`, …); with `config`, the run's configuration as text on the first event.
 *
 * Events are buffered and written every `flushEveryMs` (a paused run's too, by a timer) and on
 * completion, error and unsubscription, whole records at a time: a crash leaves a file that
 * readers take up to its last whole record. Completes and errors with its source; a failed
 * write errors the stream, naming the file. Node only (`gradstream/node`).
 *
 * What it costs, measured on `npm start`'s training in bench/RESULTS.md (issue 16): encoding the
 * scalars is cheap, but `gradNorm` reads every gradient value. While the writer runs, a
 * gradient the kernels copy out of their memory (the tape's lazy ∂W, read then) has its squares
 * summed at the copy-out, still in cache, with WebAssembly SIMD; any other gradient the writer
 * copies into wasm and sums there (short ones in JavaScript). A histogram step reads every
 * parameter.
 *
 * @example
 * ```ts
 * import { mkdtempSync, readdirSync } from 'node:fs'
 * import { tmpdir } from 'node:os'
 * import { join } from 'node:path'
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { toTensorBoard } from 'gradstream/node'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const logdir = join(mkdtempSync(join(tmpdir(), 'runs-')), 'quadratic') // tensorboard --logdir …
 * const f = (x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })
 * train({ params: [1], step: pipe(gradient(f), sgd(0.25)) }) // synchronous: done on return
 *   .pipe(maxSteps(100), toTensorBoard(logdir, { config: { lr: 0.25 }, histogramsEvery: 10 }))
 *   .subscribe()
 * console.log(readdirSync(logdir).map((name) => name.split('.').slice(0, 3).join('.')))
 * // → [ 'events.out.tfevents' ]
 * ```
 * @param logdir the run's folder (TensorBoard shows each folder under `--logdir` as a run)
 * @param options `histogramsEvery` (positive integer, default none), `config` (plain data),
 *   `flushEveryMs` (positive, default 2000), `gradNorm` (default true; false leaves the scalar
 *   out, and with it the read of the whole gradient)
 * @throws {RangeError} `toTensorBoard: histogramsEvery: expected a positive integer, got 0`
 * @throws {Error} as the stream's error: `toTensorBoard: cannot write <file>: <reason>`
 * @see toCsv, toRecords
 */
export function toTensorBoard<S extends TrainState>(
  logdir: string,
  options: ToTensorBoardOptions = {},
): MonoTypeOperatorFunction<S> {
  decode(stringC, logdir, 'toTensorBoard', 'logdir')
  const {
    histogramsEvery,
    config,
    flushEveryMs = 2000,
    gradNorm = true,
  } = decodeOptions(ToTensorBoardOptionsC, options, 'toTensorBoard')
  return writingTo<S>(() => {
    const sink = new BufferedFile('toTensorBoard', eventFileName(logdir), flushEveryMs, 'wx')
    sink.append(tfRecord(fileVersionEvent(Date.now() / 1000)))
    sink.flush()
    let first = true
    const append = (bytes: Uint8Array) => sink.append(bytes)
    const write = (s: S) => {
      const values: SummaryValue[] = []
      if (first && config !== undefined) {
        values.push({
          tag: 'config',
          text: '```json\n' + JSON.stringify(config, null, 2) + '\n```',
        })
      }
      first = false
      if (s.grad !== null) {
        values.push({ tag: 'loss', scalar: s.loss })
        values.push({ tag: 'lr', scalar: s.lr })
        if (gradNorm) values.push({ tag: 'gradNorm', scalar: normOf(s.grad) })
      }
      for (const [tag, v] of Object.entries(s.metrics)) values.push({ tag, scalar: v })
      if (histogramsEvery !== undefined && s.step % histogramsEvery === 0) {
        for (const [path, data] of leavesOf(s.params)) {
          values.push({ tag: `params/${path}`, histogram: histogramOf(data) })
        }
      }
      if (values.length > 0) {
        appendTfRecord(append, summaryEvent(Date.now() / 1000, s.step, values))
      }
    }
    // while it runs, the kernels sum each gradient they copy out (still in cache): see normOf
    const close = gradNorm ? wantSumsOfSquares() : undefined
    return { sink, write, close }
  }, flushEveryMs)
}

/** `logdir/events.out.tfevents.<unix seconds>.<hostname>`, with `.1`, `.2`, … if that exists. */
function eventFileName(logdir: string): string {
  const base = join(logdir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}`)
  let file = base
  for (let n = 1; fs.existsSync(file); n++) file = `${base}.${n}`
  return file
}
