import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { CliIO } from './report.js'
import { registerTrainMnist, type TrainMnistSummary } from './trainMnistCommand.js'

/**
 * The `gradstream` command line: `gradstream train mnist [flags]` (see `--help`). Returns the
 * exit code instead of exiting, so tests can call it; `bin/gradstream.js` and `npm start` run it.
 *
 * @example
 * ```ts
 * await main(['train', 'mnist', '--iters', '50', '--train-size', '1000', '--json'])
 * ```
 */
export async function main(
  argv: readonly string[],
  io: CliIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const program = new Command('gradstream')
    .description('neural-network training as a reactive stream')
    .version(version(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
  const trainCmd = program.command('train').description('train a network').exitOverride()
  let summary: TrainMnistSummary | null = null
  registerTrainMnist(trainCmd, io, (s) => (summary = s)).exitOverride()
  try {
    await program.parseAsync(argv, { from: 'user' })
    void summary
    return 0
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode
    io.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
    return (e as { exitCode?: number } | null)?.exitCode ?? 1
  }
}

/** gradstream's version, from its package.json (two folders up from src/cli or dist/src/cli). */
function version(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8'))
      if (pkg.name === 'gradstream') return String(pkg.version)
    } catch {
      // not this folder
    }
  }
  return 'unknown'
}

/**
 * `main` as a process runs it (`bin/gradstream.js`): a reader that goes away (`| head`) ends
 * the command quietly with exit code 0 instead of an EPIPE stack trace; resolves to the exit code.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e
      process.exit(0)
    })
  }
  return main(argv)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2))
}
