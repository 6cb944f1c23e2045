import * as fs from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Observable, pipe, Subject, take, tap, throwError, concat, of } from 'rxjs'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import {
  globalNorm,
  mapTree,
  randn,
  rng,
  train,
  twoLayerNet,
  type Tensor,
  type TrainState,
} from 'gradstream'
import { toTensorBoard } from 'gradstream/node'
import { evaluateEvery, gradient, maxSteps, sgd } from 'gradstream/operators'
import { toCsv } from 'gradstream/node'
import { copiedOutSum, noteCopiedOut } from '../../src/tensor/kernels/sumOfSquaresKernel.js'
import {
  crc32cBitwise,
  crcOf,
  mask,
  readEventFile,
  scalarsOf,
  type DecodedEvent,
} from './eventFileReader.js'

const root = fs.mkdtempSync(join(tmpdir(), 'gradstream-tb-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const newDir = () => join(root, `run${n++}`)

/** The one event file in `logdir`, its bytes. */
function eventFile(logdir: string): { name: string; bytes: Uint8Array } {
  const names = fs.readdirSync(logdir)
  expect(names).toHaveLength(1)
  return { name: names[0], bytes: new Uint8Array(fs.readFileSync(join(logdir, names[0]))) }
}

type P = { W: Tensor; b: Tensor }
/** ½‖W‖² + ½‖b − 1‖² on a 3×4 W and a 4-vector b: a real tree of tensors to train. */
const quadratic = (p: P) => {
  const g = { W: p.W, b: mapTree(p.b, (v) => v - 1) }
  const half = (t: Tensor | typeof g.b) => (t as Tensor).data.reduce((s, v) => s + v * v, 0) / 2
  return { loss: half(p.W) + half(g.b as Tensor), grad: g }
}
const params: P = { W: randn([3, 4], rng(1)), b: randn([4], rng(2)) }
const run = (steps: number) =>
  train({ params, step: pipe(gradient(quadratic), sgd(0.1)) }).pipe(
    maxSteps(steps),
    evaluateEvery({ steps: 10 }, (s) => ({ bSum: (s.params as P).b.data.reduce((a, v) => a + v) })),
  )

describe('toTensorBoard', () => {
  it('writes an event file that an independent reader decodes: version first, checksums, tags, steps, float32 values', () => {
    const logdir = newDir()
    const config = { optimizer: 'sgd', lr: 0.1, layers: [3, 4] }
    const seen: TrainState[] = []
    run(40)
      .pipe(toTensorBoard(logdir, { histogramsEvery: 20, config }))
      .subscribe((s) => seen.push(s))
    expect(seen.map((s) => s.step)).toEqual([...Array(41).keys()])

    const { name, bytes } = eventFile(logdir)
    expect(name).toMatch(
      new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${hostname().replace(/\W/g, '\\$&')}$`),
    )
    const { events, problem } = readEventFile(bytes)
    expect(problem).toBeUndefined()
    // the file-version record, then one summary event per state
    expect(events[0].file_version).toBe('brain.Event:2')
    expect(events[0].summary).toBeUndefined()
    const summaries = events.slice(1)
    expect(summaries.every((e) => e.summary !== undefined && e.file_version === undefined)).toBe(
      true,
    )
    const steps = summaries.map((e) => e.step)
    expect(steps).toEqual(seen.map((s) => s.step))
    steps.slice(1).forEach((s, i) => expect(s).toBeGreaterThan(steps[i]))
    for (const e of events) expect(Math.abs(e.wall_time - Date.now() / 1000)).toBeLessThan(600)

    // every scalar is the state's value rounded to float32, bit for bit (Object.is: NaN, −0)
    const scalars = scalarsOf(summaries)
    expect([...scalars.keys()].sort()).toEqual(['bSum', 'gradNorm', 'loss', 'lr'])
    const trained = seen.filter((s) => s.grad !== null) // the initial state has no loss, lr, gradient
    const expectScalars = (tag: string, want: [number, number][]) => {
      const got = scalars.get(tag)!
      expect(
        got.map(([s]) => s),
        tag,
      ).toEqual(want.map(([s]) => s))
      got.forEach(([step, v], i) =>
        expect(
          Object.is(v, Math.fround(want[i][1])),
          `${tag} at ${step}: ${v} vs ${want[i][1]}`,
        ).toBe(true),
      )
    }
    expectScalars(
      'loss',
      trained.map((s) => [s.step, s.loss]),
    )
    expectScalars(
      'lr',
      trained.map((s) => [s.step, s.lr]),
    )
    // gradNorm is ‖grad‖₂ summed in another order than globalNorm's: the double may differ by
    // n·ε relatively (n = 16 values), then float32 rounding adds at most half a float32 ulp
    const norms = scalars.get('gradNorm')!
    expect(norms.map(([s]) => s)).toEqual(trained.map((s) => s.step))
    norms.forEach(([step, v], i) => {
      const exact = globalNorm(trained[i].grad!)
      expect(Object.is(v, Math.fround(v)), `gradNorm at ${step} is a float32`).toBe(true)
      const halfUlp32 = 2 ** (Math.floor(Math.log2(exact)) - 24)
      expect(Math.abs(v - exact), `gradNorm at ${step}`).toBeLessThanOrEqual(
        halfUlp32 + 16 * Number.EPSILON * exact,
      )
    })
    const measured = seen.filter((s) => s.metrics.bSum !== undefined)
    expect(measured.map((s) => s.step)).toEqual([0, 10, 20, 30, 40])
    expectScalars(
      'bSum',
      measured.map((s) => [s.step, s.metrics.bSum]),
    )

    // histograms of each parameter leaf at steps 0, 20, 40
    const histos = summaries.flatMap((e) =>
      (e.summary!.value ?? []).filter((v) => v.histo != null).map((v) => ({ step: e.step, ...v })),
    )
    expect(histos.map((h) => `${h.step} ${h.tag}`)).toEqual(
      [0, 20, 40].flatMap((s) => [`${s} params/W`, `${s} params/b`]),
    )
    for (const h of histos) {
      const state = seen[h.step]
      const data = (state.params as P)[h.tag === 'params/W' ? 'W' : 'b'].data
      const { min, max, num, sum, sum_squares, bucket, bucket_limit } = h.histo!
      expect(num).toBe(data.length)
      expect(min).toBe(Math.min(...data))
      expect(max).toBe(Math.max(...data))
      expect(bucket.reduce((a, c) => a + c, 0)).toBe(data.length)
      expect(bucket_limit).toHaveLength(bucket.length)
      expect(bucket_limit.at(-1)).toBe(max)
      bucket_limit.slice(1).forEach((l, i) => expect(l).toBeGreaterThan(bucket_limit[i]))
      // bucket i counts the values in (limit[i−1], limit[i]], the first from min
      bucket.forEach((count, i) => {
        const lo = i === 0 ? -Infinity : bucket_limit[i - 1]
        expect(
          data.filter((x) => x > lo && x <= bucket_limit[i]).length,
          `${h.tag} bucket ${i}`,
        ).toBe(count)
      })
      // the same sums in the same order as the writer's: equal up to rounding of ≤ 12 terms
      const s = data.reduce((a, x) => a + x, 0)
      const s2 = data.reduce((a, x) => a + x * x, 0)
      expect(Math.abs(sum - s)).toBeLessThanOrEqual(
        12 * Number.EPSILON * data.reduce((a, x) => a + Math.abs(x), 0),
      )
      expect(Math.abs(sum_squares - s2)).toBeLessThanOrEqual(12 * Number.EPSILON * s2)
    }

    // the run's configuration, once, as the text plugin's string tensor
    const texts = summaries.flatMap((e) => e.summary!.value.filter((v) => v.tensor != null))
    expect(texts).toHaveLength(1)
    expect(texts[0].tag).toBe('config')
    expect(texts[0].metadata?.plugin_data?.plugin_name).toBe('text')
    expect(texts[0].tensor!.dtype).toBe('DT_STRING')
    expect(texts[0].tensor!.tensor_shape?.dim).toEqual([])
    const text = Buffer.from(texts[0].tensor!.string_val[0]).toString('utf8')
    expect(JSON.parse(text.replace(/^```json\n|\n```$/g, ''))).toEqual(config)
  })

  it("the reader's checksums are CRC32C: RFC 3720's check value, and both implementations agree", () => {
    // RFC 3720 B.4 / the CRC catalogue's CRC-32C check: crc("123456789") = 0xE3069283
    const check = new TextEncoder().encode('123456789')
    expect(crc32cBitwise(check)).toBe(0xe3069283)
    expect(crcOf(check)).toBe(0xe3069283)
    expect(crcOf(new Uint8Array(32))).toBe(0x8a9136aa) // RFC 3720 B.4: 32 bytes of zeros
    expect(crcOf(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43) // … of ones
    expect(mask(0)).toBe(0xa282ead8)
  })

  it('a truncated last record is reported, and every record before it is intact', () => {
    const logdir = newDir()
    run(12).pipe(toTensorBoard(logdir)).subscribe()
    const { bytes } = eventFile(logdir)
    const full = readEventFile(bytes)
    expect(full.problem).toBeUndefined()
    expect(full.events).toHaveLength(14) // the version, then steps 0…12
    // the start of the last record: the file less the last record's length
    let lastStart = 0
    for (let i = 0; i < full.events.length - 1; i++) {
      lastStart += 16 + Number(new DataView(bytes.buffer).getBigUint64(lastStart, true))
    }
    for (let cut = lastStart + 1; cut < bytes.length; cut++) {
      const { events, problem } = readEventFile(bytes.subarray(0, cut))
      expect(problem, `cut at ${cut}`).toMatch(/^record 13: truncated (header|data)$/)
      expect(events).toEqual(full.events.slice(0, -1))
    }
    // a crash between records leaves a file with no problem at all
    expect(readEventFile(bytes.subarray(0, lastStart))).toEqual({
      events: full.events.slice(0, -1),
    })
    // a byte changed anywhere in a record's data fails its checksum
    const flipped = bytes.slice()
    flipped[lastStart + 20] ^= 1
    expect(readEventFile(flipped).problem).toBe('record 13: bad data checksum')
  })

  it('passes the same states through and completes with its source', () => {
    const states = [] as TrainState[]
    run(3).subscribe((s) => states.push(s))
    const out: unknown[] = []
    let completed = false
    of(...states)
      .pipe(toTensorBoard(newDir()))
      .subscribe({ next: (s) => out.push(s), complete: () => (completed = true) })
    expect(out).toHaveLength(4)
    out.forEach((s, i) => expect(s).toBe(states[i]))
    expect(completed).toBe(true)
  })

  it('long fields and large steps: multi-byte varints and lengths decode, non-ASCII tags intact', () => {
    const logdir = newDir()
    const initial: TrainState[] = []
    run(0).subscribe((s) => initial.push(s))
    const steps = [1, 127, 128, 300, 16_383, 16_384, 2 ** 21, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER]
    const long = 'λ/ü/' + 'x'.repeat(200) // 205 characters, 207 bytes of UTF-8: a 2-byte length
    const config = { notes: 'ü'.repeat(10_000) } // a text of > 16,384 bytes: a 3-byte length
    of(...steps.map((step, i) => ({ ...initial[0], step, metrics: { [long]: i, 'Δ loss': -i } })))
      .pipe(toTensorBoard(logdir, { config }))
      .subscribe()
    const { events, problem } = readEventFile(eventFile(logdir).bytes)
    expect(problem).toBeUndefined()
    expect(events.slice(1).map((e) => e.step)).toEqual(steps)
    const scalars = scalarsOf(events)
    expect(scalars.get(long)).toEqual(steps.map((s, i) => [s, i]))
    expect(scalars.get('Δ loss')).toEqual(steps.map((s, i) => [s, -i]))
    const text = events[1].summary!.value.find((v) => v.tag === 'config')!.tensor!.string_val[0]
    expect(
      JSON.parse(
        Buffer.from(text)
          .toString('utf8')
          .replace(/^```json\n|\n```$/g, ''),
      ),
    ).toEqual(config)
  })

  it('gradNorm: false leaves the gradient norm out, every other scalar in', () => {
    const logdir = newDir()
    run(10)
      .pipe(toTensorBoard(logdir, { gradNorm: false }))
      .subscribe()
    const scalars = scalarsOf(readEventFile(eventFile(logdir).bytes).events)
    expect([...scalars.keys()].sort()).toEqual(['bSum', 'loss', 'lr'])
    expect(scalars.get('loss')).toHaveLength(10)
  })

  it('asks the kernels for copy-out sums only while it runs with gradNorm, and writes the norm', () => {
    // does a kernel's copy-out keep a sum right now? (a wasm memory standing in for the kernels')
    const memory = new WebAssembly.Memory({ initial: 1 })
    const kept = () => {
      const dst = new Float64Array(16).fill(1)
      noteCopiedOut(memory, [dst, 0])
      return copiedOutSum(dst) !== undefined
    }
    // the book's 784–50–10 net on MNIST-shaped batches (81% zeros)
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 2 })
    const r = rng(9)
    const batch = () => ({
      x: {
        shape: [100, 784],
        data: Float64Array.from({ length: 78_400 }, () => (r.uniform() < 0.81 ? 0 : r.uniform())),
      } as Tensor,
      t: { shape: [100], data: Float64Array.from({ length: 100 }, () => r.int(10)) } as Tensor,
    })
    const data = [batch(), batch(), batch()]
    const mnist = () =>
      train({
        params: net.params,
        step: pipe(
          gradient((p: typeof net.params, b: (typeof data)[0]) => net.lossAndGradient(p, b.x, b.t)),
          sgd(0.1),
        ),
        data,
      }).pipe(maxSteps(3))

    expect(kept()).toBe(false)
    const logdir = newDir()
    const during: boolean[] = []
    const states: TrainState[] = []
    mnist()
      .pipe(
        toTensorBoard(logdir),
        tap((s) => (states.push(s), during.push(kept()))),
      )
      .subscribe()
    expect(during).toEqual([true, true, true, true])
    expect(kept()).toBe(false) // released at the end
    // gradNorm is ‖grad‖₂ (n·ε, ½ ulp32)
    const trained = states.filter((s) => s.grad !== null)
    const norms = scalarsOf(readEventFile(eventFile(logdir).bytes).events).get('gradNorm')!
    expect(norms.map(([step]) => step)).toEqual([1, 2, 3])
    trained.forEach((s, i) => {
      const exact = globalNorm(s.grad!)
      const halfUlp32 = 2 ** (Math.floor(Math.log2(exact)) - 24)
      expect(Math.abs(norms[i][1] - exact)).toBeLessThanOrEqual(
        halfUlp32 + 39_760 * Number.EPSILON * exact,
      )
    })

    // not with gradNorm: false; released on error and on unsubscription; toCsv alike
    const seen: boolean[] = []
    mnist()
      .pipe(
        toTensorBoard(newDir(), { gradNorm: false }),
        tap(() => seen.push(kept())),
      )
      .subscribe()
    expect(seen).toEqual([false, false, false, false])
    concat(
      mnist(),
      throwError(() => new Error('boom')),
    )
      .pipe(
        toCsv(join(newDir(), 'run.csv')),
        tap(() => seen.push(kept())),
      )
      .subscribe({ error: () => {} })
    seen.push(kept()) // after the error's teardown
    expect(seen.slice(4)).toEqual([true, true, true, true, false])
    mnist().pipe(toTensorBoard(newDir()), take(2)).subscribe()
    expect(kept()).toBe(false)
  })

  it('an empty run leaves just the file-version record', () => {
    const logdir = newDir()
    of<TrainState>().pipe(toTensorBoard(logdir)).subscribe()
    expect(readEventFile(eventFile(logdir).bytes).events.map((e) => e.file_version)).toEqual([
      'brain.Event:2',
    ])
  })

  it('unsubscribing writes every state received, and stops a synchronous source', () => {
    const logdir = newDir()
    let produced = 0
    const endless$ = new Observable<TrainState>((s) => {
      const states: TrainState[] = []
      run(0).subscribe((x) => states.push(x))
      for (let i = 0; !s.closed; i++)
        (produced++, s.next({ ...states[0], step: i, metrics: { i } }))
    })
    endless$.pipe(toTensorBoard(logdir), take(7)).subscribe()
    expect(produced).toBe(7)
    const { events, problem } = readEventFile(eventFile(logdir).bytes)
    expect(problem).toBeUndefined()
    expect(scalarsOf(events).get('i')).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => [i, i]))
  })

  it('an upstream error passes through after the states before it are written', () => {
    const logdir = newDir()
    const boom = new Error('boom')
    let error: unknown
    concat(
      run(5),
      throwError(() => boom),
    )
      .pipe(toTensorBoard(logdir))
      .subscribe({ error: (e) => (error = e) })
    expect(error).toBe(boom)
    const { events, problem } = readEventFile(eventFile(logdir).bytes)
    expect(problem).toBeUndefined()
    expect(events.slice(1).map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5])
  })

  describe('buffering', () => {
    afterEach(() => vi.useRealTimers())

    it('a paused run is written every flushEveryMs; the file ends after a whole record', () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
      const logdir = newDir()
      const states: TrainState[] = []
      run(2).subscribe((s) => states.push(s))
      const source = new Subject<TrainState>()
      const sub = source.pipe(toTensorBoard(logdir, { flushEveryMs: 5000 })).subscribe()
      const count = () => readEventFile(eventFile(logdir).bytes)
      expect(count().events).toHaveLength(1) // the version is written at once
      source.next(states[0])
      source.next(states[1])
      vi.advanceTimersByTime(4999)
      expect(count().events).toHaveLength(1) // buffered
      vi.advanceTimersByTime(1)
      expect(count()).toEqual({ events: expect.any(Array) })
      expect(count().events.map((e: DecodedEvent) => e.step)).toEqual([0, 0, 1])
      source.next(states[2])
      sub.unsubscribe() // written on unsubscription
      expect(count().events.map((e: DecodedEvent) => e.step)).toEqual([0, 0, 1, 2])
    })
  })

  it('a file it cannot create errors the stream, naming the file', () => {
    const notADir = join(root, 'a-file')
    fs.writeFileSync(notADir, '')
    let error: Error | undefined
    run(1)
      .pipe(toTensorBoard(join(notADir, 'tb')))
      .subscribe({ error: (e) => (error = e) })
    const file = `${join(notADir, 'tb')}/events.out.tfevents.`
    expect(error?.message.startsWith(`toTensorBoard: cannot write ${file}`)).toBe(true)
    expect(error?.message).toMatch(/\.\d{10}\.[^/]+: ENOTDIR: not a directory, mkdir '.*'$/)
  })

  it('two writers in one folder in the same second write two files', () => {
    const logdir = newDir()
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      run(1).pipe(toTensorBoard(logdir)).subscribe()
      run(1).pipe(toTensorBoard(logdir)).subscribe()
    } finally {
      vi.useRealTimers()
    }
    const names = fs.readdirSync(logdir).sort()
    expect(names).toHaveLength(2)
    expect(names[1]).toBe(`${names[0]}.1`)
  })

  it('rejects bad arguments when built, naming the field', () => {
    expect(() => toTensorBoard('x', { histogramsEvery: 0 })).toThrow(
      new RangeError('toTensorBoard: histogramsEvery: expected a positive integer, got 0'),
    )
    expect(() => toTensorBoard('x', { flush: 1 } as never)).toThrow(
      new TypeError(
        'toTensorBoard: options.flush: expected no such key (known: histogramsEvery, config, flushEveryMs, gradNorm), got 1',
      ),
    )
    expect(() => toTensorBoard(3 as never)).toThrow(
      new TypeError('toTensorBoard: logdir: expected a string, got 3'),
    )
  })
})
