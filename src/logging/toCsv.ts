import type { MonoTypeOperatorFunction } from 'rxjs'
import type * as t from 'io-ts'
import { booleanC, configType, optional, positiveNumber, stringC } from '../state/codecs.js'
import { decode, decodeOptions } from '../state/decode.js'
import type { TrainState } from '../state/types.js'
import { wantSumsOfSquares } from '../tensor/kernels/sumOfSquaresKernel.js'
import { BufferedFile, writingTo } from './fileSinkInternals.js'
import { recordOf } from './toRecords.js'

const ToCsvOptionsC = configType('toCsv options', {
  /** milliseconds between writes of the buffer (default 2000) */
  flushEveryMs: optional(positiveNumber),
  /** write the `gradNorm` column (default true; it reads the whole gradient every step) */
  gradNorm: optional(booleanC),
})

/** Options of `toCsv`. */
export type ToCsvOptions = t.TypeOf<typeof ToCsvOptionsC>

const encoder = new TextEncoder()

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s)

/**
 * Passes every state through unchanged and writes it as one row of the CSV file `file`
 * (replaced on subscription, its folder created): the columns `step,loss,lr,gradNorm`, then one
 * per metric (`trainAcc,testAcc`, in the order they first appear), the rows of `toRecords`.
 * Numbers are written as JavaScript prints them (they read back to the same double; `NaN`,
 * `Infinity`), a metric a state does not carry as an empty cell. A metric that first appears
 * after rows were written widens the file: it is rewritten once with the new column (empty in
 * the earlier rows). Rows are buffered and written as `toTensorBoard` writes events: every
 * `flushEveryMs`, and on completion, error and unsubscription; a failed write errors the
 * stream, naming the file. Node only (`gradstream/node`).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs'
 * import { tmpdir } from 'node:os'
 * import { join } from 'node:path'
 * import { pipe } from 'rxjs'
 * import { train } from 'gradstream'
 * import { toCsv } from 'gradstream/node'
 * import { gradient, maxSteps, sgd } from 'gradstream/operators'
 *
 * const file = join(tmpdir(), 'gradstream-example', 'quadratic.csv')
 * const f = (x: number[]) => ({ loss: x[0] ** 2, grad: [2 * x[0]] })
 * train({ params: [1], step: pipe(gradient(f), sgd(0.25)) }) // synchronous: done on return
 *   .pipe(maxSteps(2), toCsv(file))
 *   .subscribe()
 * console.log(readFileSync(file, 'utf8').trim().split('\n').join(' | '))
 * // → step,loss,lr,gradNorm | 0,NaN,NaN,NaN | 1,1,0.25,2 | 2,0.25,0.25,1
 * ```
 * @param file where the CSV goes (replaced)
 * @param options `flushEveryMs` (positive, default 2000), `gradNorm` (default true, as
 *   `toTensorBoard` takes it: see its cost there; false leaves the column out)
 * @throws {Error} as the stream's error: `toCsv: cannot write <file>: <reason>`
 * @see toTensorBoard, toRecords
 */
export function toCsv<S extends TrainState>(
  file: string,
  options: ToCsvOptions = {},
): MonoTypeOperatorFunction<S> {
  decode(stringC, file, 'toCsv', 'file')
  const { flushEveryMs = 2000, gradNorm = true } = decodeOptions(ToCsvOptionsC, options, 'toCsv')
  return writingTo<S>(() => {
    const sink = new BufferedFile('toCsv', file, flushEveryMs, 'w')
    const columns = gradNorm ? ['step', 'loss', 'lr', 'gradNorm'] : ['step', 'loss', 'lr']
    let header = false
    const write = (s: S) => {
      const r = recordOf(s, gradNorm)
      const added = Object.keys(r).filter((k) => !columns.includes(k))
      if (added.length > 0) {
        columns.push(...added)
        if (header) {
          // widen what was written: the new header, and an empty cell per new column in each row
          const pad = ','.repeat(added.length)
          sink.rewrite((text) => {
            const rows = text.split('\n').slice(1, -1) // after the header, before the last \n
            return [columns.map(field).join(','), ...rows.map((row) => row + pad), ''].join('\n')
          })
        }
      }
      if (!header) {
        sink.append(encoder.encode(`${columns.map(field).join(',')}\n`))
        header = true
      }
      const row = columns.map((c) => (r[c] === undefined ? '' : String(r[c]))).join(',')
      sink.append(encoder.encode(`${row}\n`))
    }
    // while it runs, the kernels sum each gradient they copy out (still in cache): see normOf
    const close = gradNorm ? wantSumsOfSquares() : undefined
    return { sink, write, close }
  }, flushEveryMs)
}
