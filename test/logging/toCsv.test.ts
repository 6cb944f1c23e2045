import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { concat, map, of, pipe, Subject, throwError } from 'rxjs'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { globalNorm, train, type TrainState } from 'gradstream'
import { toCsv } from 'gradstream/node'
import { evaluateEvery, gradient, maxSteps, sgd } from 'gradstream/operators'

const root = fs.mkdtempSync(join(tmpdir(), 'gradstream-csv-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const newFile = () => join(root, `dir${n}`, `run${n++}.csv`)

const f = (x: number[]) => ({ loss: x[0] ** 2 + x[1] ** 2, grad: [2 * x[0], 2 * x[1]] })
const run = (steps: number) =>
  train({ params: [3, -4], step: pipe(gradient(f), sgd(0.1)) }).pipe(maxSteps(steps))

/** RFC 4180 rows of `text` (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((cell += '"'), i++)
      else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') (row.push(cell), (cell = ''))
    else if (c === '\n') (row.push(cell), rows.push(row), (row = []), (cell = ''))
    else cell += c
  }
  expect(cell, 'the file ends with a line break').toBe('')
  return rows
}

describe('toCsv', () => {
  it('one row per state, step, loss, lr, gradNorm and the metrics; numbers read back exactly', () => {
    const file = newFile()
    const seen: TrainState[] = []
    run(30)
      .pipe(
        evaluateEvery({ steps: 10 }, (s) => ({ x0: (s.params as number[])[0] })),
        toCsv(file),
      )
      .subscribe((s) => seen.push(s))
    const [header, ...rows] = parseCsv(fs.readFileSync(file, 'utf8'))
    expect(header).toEqual(['step', 'loss', 'lr', 'gradNorm', 'x0'])
    expect(rows).toHaveLength(31)
    rows.forEach((r, i) => {
      const s = seen[i]
      // two gradient values: the writer's sum of squares adds them in globalNorm's order, exactly
      const want = [s.step, s.loss, s.lr, s.grad === null ? NaN : globalNorm(s.grad)]
      want.forEach((v, k) => expect(Object.is(Number(r[k]), v), `row ${i} ${header[k]}`).toBe(true))
      expect(r[4]).toBe(s.step % 10 === 0 ? String(s.metrics.x0) : '')
    })
    expect(rows[0].slice(0, 4)).toEqual(['0', 'NaN', 'NaN', 'NaN'])
  })

  it('a metric that appears later widens the file: new header, empty cells in earlier rows', () => {
    const file = newFile()
    const late = (s: TrainState): Record<string, number> =>
      s.step === 3 ? { late: 0.5, 'a,"b"': 1 } : s.step === 5 ? { early: 2 } : {}
    run(6)
      .pipe(
        map((s) => ({ ...s, metrics: { ...s.metrics, ...late(s) } })),
        toCsv(file),
      )
      .subscribe()
    const rows = parseCsv(fs.readFileSync(file, 'utf8'))
    expect(rows[0]).toEqual(['step', 'loss', 'lr', 'gradNorm', 'late', 'a,"b"', 'early'])
    expect(rows.map((r) => r.length)).toEqual(Array(8).fill(7))
    expect(rows.map((r) => r.slice(4))).toEqual([
      ['late', 'a,"b"', 'early'],
      ['', '', ''],
      ['', '', ''],
      ['', '', ''],
      ['0.5', '1', ''],
      ['', '', ''],
      ['', '', '2'],
      ['', '', ''],
    ])
    expect(fs.readFileSync(file, 'utf8').split('\n')[0]).toBe(
      'step,loss,lr,gradNorm,late,"a,""b""",early',
    )
  })

  it('replaces an existing file and passes the states through unchanged', () => {
    const file = newFile()
    fs.mkdirSync(join(file, '..'), { recursive: true })
    fs.writeFileSync(file, 'old contents\n'.repeat(100))
    const states: TrainState[] = []
    run(2).subscribe((s) => states.push(s))
    const out: TrainState[] = []
    of(...states)
      .pipe(toCsv(file))
      .subscribe((s) => out.push(s))
    out.forEach((s, i) => expect(s).toBe(states[i]))
    expect(fs.readFileSync(file, 'utf8')).toBe(
      'step,loss,lr,gradNorm\n0,NaN,NaN,NaN\n1,25,0.1,10\n2,16,0.1,8\n',
    )
  })

  it('gradNorm: false leaves the column out', () => {
    const file = newFile()
    run(1)
      .pipe(toCsv(file, { gradNorm: false }))
      .subscribe()
    expect(fs.readFileSync(file, 'utf8')).toBe('step,loss,lr\n0,NaN,NaN\n1,25,0.1\n')
  })

  it('an upstream error passes through after the rows before it are written', () => {
    const file = newFile()
    const boom = new Error('boom')
    let error: unknown
    concat(
      run(2),
      throwError(() => boom),
    )
      .pipe(toCsv(file))
      .subscribe({ error: (e) => (error = e) })
    expect(error).toBe(boom)
    expect(fs.readFileSync(file, 'utf8').split('\n')).toHaveLength(5)
  })

  it('a failed write at the end errors the stream instead of completing, naming the file', () => {
    // /dev/full: opening works, every write fails with ENOSPC
    let error: Error | undefined
    let completed = false
    run(3)
      .pipe(toCsv('/dev/full'))
      .subscribe({ error: (e) => (error = e), complete: () => (completed = true) })
    expect(completed).toBe(false)
    expect(error?.message).toBe(
      'toCsv: cannot write /dev/full: ENOSPC: no space left on device, write',
    )
  })

  describe('timed writes', () => {
    afterEach(() => vi.useRealTimers())
    it('a failed timed write errors a paused run', () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
      const states: TrainState[] = []
      run(1).subscribe((s) => states.push(s))
      const source = new Subject<TrainState>()
      let error: Error | undefined
      source
        .pipe(toCsv('/dev/full', { flushEveryMs: 1000 }))
        .subscribe({ error: (e) => (error = e) })
      source.next(states[0])
      vi.advanceTimersByTime(999)
      expect(error).toBeUndefined()
      vi.advanceTimersByTime(1)
      expect(error?.message).toBe(
        'toCsv: cannot write /dev/full: ENOSPC: no space left on device, write',
      )
      expect(source.observed).toBe(false) // unsubscribed from the run
    })
  })

  it('rejects bad arguments when built, naming the field', () => {
    expect(() => toCsv('x', { flushEveryMs: -1 })).toThrow(
      new RangeError('toCsv: flushEveryMs: expected a positive finite number, got -1'),
    )
    expect(() => toCsv('x', null as never)).toThrow(
      new TypeError('toCsv: options: expected an object, got null'),
    )
    expect(() => toCsv(undefined as never)).toThrow(
      new TypeError('toCsv: file: expected a string, got undefined'),
    )
  })
})
