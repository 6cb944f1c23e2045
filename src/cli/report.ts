import cliProgress from 'cli-progress'
import { encodeWireLine, toWireFrame } from '../state/wireFormat.js'
import type { TrainState } from '../state/types.js'

/** Where the CLI writes: the process's streams, or strings in a test. */
export interface CliIO {
  readonly stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number }
  readonly stderr: { write(s: string): unknown }
}

/** How a run is shown: a live bar on a terminal, plain lines elsewhere, or JSON lines. */
export type ReportMode = 'tty' | 'plain' | 'json'

export interface Reporter {
  /** every state of the run, in order */
  state(s: TrainState, evaluated: boolean): void
  /** a line for a person (stderr in JSON mode, so stdout stays machine-readable) */
  line(text: string): void
  done(): void
}

const f4 = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(4))

/** `75s`, `4m05s`, `1h02m` */
export function formatSeconds(sec: number): string {
  if (!Number.isFinite(sec)) return '-'
  const t = Math.max(0, Math.round(sec))
  if (t < 60) return `${t}s`
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`
}

/** `epoch 3  step 1800  loss 0.2431  train acc 0.9312  test acc 0.9327` */
export function epochLine(s: TrainState, stepsPerEpoch: number, recentLoss: number): string {
  const epoch = s.step / stepsPerEpoch
  const e = Number.isInteger(epoch) ? String(epoch) : epoch.toFixed(2)
  return `epoch ${e}  step ${s.step}  loss ${f4(recentLoss)}  train acc ${f4(s.metrics.trainAcc)}  test acc ${f4(s.metrics.testAcc)}`
}

/**
 * The progress bar's line for a run of `iters` steps on a terminal `columns` wide: the bar
 * takes what the text leaves (10 to 30 cells), so the whole line fits, speed and ETA included
 * (`2000/10000 ████░░░░ loss 0.2431 acc 0.9327 1069/s ETA 7s`).
 */
export function progressFormat(
  iters: number,
  columns: number,
): { format: string; barsize: number } {
  // the widest text: both counts, loss and acc (6 chars), speed (5 digits), ETA (`1h02m`)
  const text = 2 * String(iters).length + ' / loss 0.0000 acc 0.0000 99999/s ETA 1h02m '.length
  return {
    format: '{value}/{total} {bar} loss {loss} acc {acc} {speed}/s ETA {remaining}',
    barsize: Math.max(10, Math.min(30, columns - 1 - text)),
  }
}

/**
 * The reporter for `mode`: `tty` draws a cli-progress bar (step, loss, test accuracy,
 * steps/s, ETA) and prints epoch lines above it; `plain` prints epoch lines and a progress line
 * every `logEvery` steps; `json` writes one wire-format line (see `toWireFrame`) per sampled
 * state — every `logEvery` steps, every evaluation and the last state — to stdout.
 */
export function reporter(
  mode: ReportMode,
  io: CliIO,
  opts: {
    iters: number
    logEvery: number
    stepsPerEpoch: number
    trainingMs: () => number
    /** the step the run starts from (a resumed run's), for the speed */
    startStep?: number
    /** losses of the steps before it (a resumed run's record), for the running mean */
    recentLosses?: readonly number[]
  },
): Reporter {
  const t0 = performance.now()
  const start = opts.startStep ?? 0
  const recent: number[] = (opts.recentLosses ?? []).filter(Number.isFinite).slice(-100)
  // metrics are added downstream of the loop, so only evaluated states carry them: keep the last
  let testAcc: number | undefined
  const recentLoss = () => (recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : NaN)
  const speed = (step: number) => (step - start) / Math.max(1e-3, opts.trainingMs() / 1000)
  let multi: cliProgress.MultiBar | null = null
  let bar: cliProgress.SingleBar | null = null
  if (mode === 'tty') {
    multi = new cliProgress.MultiBar(
      {
        ...progressFormat(opts.iters, io.stdout.columns ?? 80),
        hideCursor: true,
        clearOnComplete: false,
        stream: io.stdout as NodeJS.WritableStream,
        fps: 10,
        etaBuffer: 200,
      },
      cliProgress.Presets.shades_classic,
    )
    bar = multi.create(opts.iters, 0, { loss: '-', acc: '-', speed: '-', remaining: '-' })
  }
  const line = (text: string) => {
    if (multi) multi.log(`${text}\n`)
    else if (mode === 'json') io.stderr.write(`${text}\n`)
    else io.stdout.write(`${text}\n`)
  }
  return {
    state(s, evaluated) {
      if (s.step > 0 && Number.isFinite(s.loss)) {
        recent.push(s.loss)
        if (recent.length > 100) recent.shift()
      }
      const last = s.stopReason !== undefined
      if (mode === 'json') {
        if (s.step % opts.logEvery === 0 || evaluated || last) {
          io.stdout.write(`${encodeWireLine(toWireFrame(s, { time: performance.now() - t0 }))}\n`)
        }
        return
      }
      if (evaluated) {
        testAcc = s.metrics.testAcc
        line(epochLine(s, opts.stepsPerEpoch, recentLoss()))
      }
      if (bar) {
        const v = speed(s.step)
        bar.update(s.step, {
          loss: f4(recentLoss()),
          acc: f4(testAcc),
          speed: s.step > start ? v.toFixed(0) : '-',
          remaining: s.step > start ? formatSeconds((opts.iters - s.step) / v) : '-',
        })
      } else if (s.step > 0 && s.step % opts.logEvery === 0 && !evaluated) {
        line(
          `step ${s.step}/${opts.iters}  loss ${f4(recentLoss())}  ${speed(s.step).toFixed(0)} steps/s`,
        )
      }
    },
    line,
    done() {
      // gives the cursor and line wrapping back (the bar hid one and turned off the other)
      multi?.stop()
      multi = null
      bar = null
    },
  }
}
