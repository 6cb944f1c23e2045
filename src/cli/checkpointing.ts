import * as fs from 'node:fs'
import * as path from 'node:path'
import { Option, type Command } from 'commander'
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
  const where = `--resume ${file}`
  const bytes = readRegularFile(where, file, 'checkpoint file', MAX_CHECKPOINT_BYTES)
  return parseCheckpoint(new TextDecoder().decode(bytes), where)
}

/** The `--resume <file>` flag (`--checkpoint <file>` is the train command's own). */
export const resumeOption = (): Option =>
  new Option(
    '--resume <file>',
    'continue the run saved in a --checkpoint file (same flags: the result equals an uninterrupted run; a regular file of at most 256 MiB)',
  )

/** Adds `--resume <file>` to a command. */
export function addResumeOption(cmd: Command): Command {
  return cmd.addOption(resumeOption())
}

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

/** How a run stopped by Ctrl-C ends: exit code 130 (128 + SIGINT), naming the checkpoint. */
export class InterruptedError extends Error {
  override name = 'InterruptedError'
  readonly exitCode = 130
  constructor(
    readonly step: number,
    readonly file: string,
  ) {
    super(
      `interrupted at step ${step}: checkpoint written to ${file} (continue with --resume ${file})`,
    )
  }
}
