import * as fs from 'node:fs'
import * as path from 'node:path'
import { Option } from 'commander'
import { readRegularFile } from '../data/readFileInternals.js'
import { parseCheckpoint } from '../state/checkpoint.js'
import type { TrainState } from '../state/types.js'

/**
 * Writes `text` to `file` atomically: into a temporary file beside it (same folder, so the
 * rename stays on one file system), flushed to disk, then renamed over `file`. A reader — or a
 * run resumed after a crash or a Ctrl-C in the middle of a write — sees either the previous
 * file or the new one, never a partial one. Creates the folder if needed.
 *
 * @example
 * ```ts
 * writeFileAtomic('runs/mnist.json', checkpoint(state))
 * ```
 */
export function writeFileAtomic(file: string, text: string): void {
  const target = path.resolve(file)
  fs.mkdirSync(path.dirname(target), { recursive: true })
  const tmp = `${target}.${process.pid}.tmp`
  try {
    const fd = fs.openSync(tmp, 'w')
    try {
      fs.writeSync(fd, text)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, target)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
}

/** The largest checkpoint `--resume` reads: 256 MiB. */
export const MAX_CHECKPOINT_BYTES = 256 * 2 ** 20

/**
 * Reads a checkpoint file for `--resume`, naming the flag and the file in every message:
 * `--resume run.json: json: expected a complete JSON checkpoint, got invalid JSON (…)`. The
 * path must be a regular file (a FIFO or `/dev/zero` is refused at once) of at most 256 MiB
 * (`MAX_CHECKPOINT_BYTES`).
 *
 * @example
 * ```ts
 * const from = readCheckpointFile('runs/mnist.json')
 * from.step // where the run stood
 * ```
 * @throws {Error} `--resume nope.json: file: expected a readable checkpoint file, got ENOENT`
 * @throws {TypeError} `--resume /dev/zero: file: expected a regular file, got a character device`
 * @throws {RangeError} `--resume big.json: size: expected at most 256 MiB (268435456 bytes), got 300000000 bytes`
 */
export function readCheckpointFile(file: string): TrainState {
  return readCheckpointRun(file).state
}

/** A value of a recorded flag: what commander hands over, `null` where the flag was not set. */
export type RunValue = string | number | boolean | null | readonly number[]

/**
 * What the command line records beside a checkpoint's state (the envelope's `run` key, which
 * `restore` ignores): the flags that shape the training, so `--resume` can hold to them, and
 * the losses of the last steps, so a resumed run reports the same running mean.
 */
export interface RunRecord {
  readonly config: { readonly [key: string]: RunValue }
  /** the losses of the last (at most 100) steps up to the checkpoint's, oldest first */
  readonly recentLosses: readonly number[]
}

/**
 * `json` (a `checkpoint(state)`) with `run` recorded in its envelope.
 *
 * @example
 * ```ts
 * withRunRecord(checkpoint(state), { config: { hidden: 50 }, recentLosses: [0.3, 0.29] })
 * ```
 */
export function withRunRecord(json: string, run: RunRecord): string {
  const losses = run.recentLosses.map((l) => (Number.isFinite(l) ? l : null))
  return `${json.slice(0, -1)},"run":${JSON.stringify({ ...run, recentLosses: losses })}}`
}

/**
 * `readCheckpointFile`, with the run record when the checkpoint has one (written by this
 * command line since it records them; older files have none).
 *
 * @throws {TypeError} `--resume run.json: run.config: expected an object of flag values, got 1`
 */
export function readCheckpointRun(file: string): { state: TrainState; run?: RunRecord } {
  const where = `--resume ${file}`
  const bytes = readRegularFile(where, file, 'checkpoint file', MAX_CHECKPOINT_BYTES)
  const text = new TextDecoder().decode(bytes)
  const state = parseCheckpoint(text, where)
  const run = (JSON.parse(text) as { run?: unknown }).run
  if (run === undefined) return { state }
  const r = run as { config?: unknown; recentLosses?: unknown }
  const plain = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
  const value = (v: unknown) =>
    v === null ||
    ['string', 'number', 'boolean'].includes(typeof v) ||
    (Array.isArray(v) && v.every((x) => typeof x === 'number'))
  if (!plain(r) || !plain(r.config) || !Object.values(r.config).every(value)) {
    throw new TypeError(
      `${where}: run.config: expected an object of flag values, got ${JSON.stringify(plain(r) ? r.config : r)}`,
    )
  }
  const losses = r.recentLosses
  if (!Array.isArray(losses) || !losses.every((l) => l === null || typeof l === 'number')) {
    throw new TypeError(
      `${where}: run.recentLosses: expected an array of numbers, got ${JSON.stringify(losses)}`,
    )
  }
  return {
    state,
    run: {
      config: r.config as RunRecord['config'],
      recentLosses: losses.map((l: number | null) => l ?? NaN),
    },
  }
}

/** The `--resume <file>` flag (`--checkpoint <file>` is the train command's own). */
export const resumeOption = (): Option =>
  new Option(
    '--resume <file>',
    "continue the run saved in a --checkpoint file with the run's recorded flags (a conflicting one is refused; the result equals an uninterrupted run; a regular file of at most 256 MiB)",
  )

/**
 * Runs `stop` on the first SIGINT (Ctrl-C) instead of letting Node exit at once, so the run can
 * unsubscribe and its `checkpointEvery` write the last state; a second SIGINT exits
 * immediately (code 130). Returns a function removing the handler.
 *
 * @example
 * ```ts
 * const off = onInterrupt(() => subscription.unsubscribe())
 * // … when the run ends:
 * off()
 * ```
 */
export function onInterrupt(stop: () => void): () => void {
  let interrupted = false
  const handler = () => {
    if (interrupted) process.exit(130)
    interrupted = true
    stop()
  }
  process.on('SIGINT', handler)
  return () => void process.off('SIGINT', handler)
}

/** How a run stopped by Ctrl-C ends: exit code 130 (128 + SIGINT), naming the checkpoint if any. */
export class InterruptedError extends Error {
  override name = 'InterruptedError'
  readonly exitCode = 130
  constructor(
    readonly step: number,
    readonly file?: string,
  ) {
    super(
      file === undefined
        ? `interrupted at step ${step} (--checkpoint FILE would have saved it)`
        : `interrupted at step ${step}: checkpoint written to ${file} (continue with --resume ${file})`,
    )
  }
}
