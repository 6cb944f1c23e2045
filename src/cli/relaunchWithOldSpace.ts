import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'

/**
 * The node option the `gradstream` command runs with. Each training step makes fresh arrays
 * (the new parameters and gradient), and V8 (node 20) counts array memory not yet freed as
 * old-generation use; once a process's old generation passes 8 MB (the CLI's does), the minimal
 * limit V8 settles on is crossed every few dozen steps and every crossing costs a full
 * collection. A 64 MB floor for the limit keeps those arrays under it (bench/RESULTS.md, "Issue
 * 21 tsx"). Node refuses the option in NODE_OPTIONS, so the command passes it to a child node.
 */
export const OLD_SPACE_OPTION = '--initial-old-space-size=64'

/**
 * The glibc tunable the child runs with on Linux: malloc asks the kernel for transparent huge
 * pages (madvise) for its heap and large blocks. A training run's fresh arrays fill glibc's heap
 * up to a collection cycle's worth in the first steps, and loading MNIST writes a 376 MB array:
 * 4 KB pages fault in one at a time, 2 MB ones up to 512 times fewer (bench/RESULTS.md,
 * "Session 11, s11-warm"). glibc reads it only as a process starts, so only a launcher can set
 * it; glibc before 2.35 and other C libraries ignore it.
 */
export const MALLOC_TUNABLE = 'glibc.malloc.hugetlb=1'

/** The environment variable naming the launcher's pid in the child (it stops if orphaned). */
const LAUNCHER_PID = 'GRADSTREAM_LAUNCHER_PID'

/**
 * Runs `script` with `args` again in a child node process that has this process's node options
 * plus {@link OLD_SPACE_OPTION} (and on Linux {@link MALLOC_TUNABLE} added to GLIBC_TUNABLES,
 * unless that already sets glibc.malloc.hugetlb), unless those options already set the initial old space or
 * start an inspector: then returns `false` and the caller runs the command itself. Otherwise
 * returns `true`; this process then only waits for the child and ends as it ends, with its exit
 * code or killed by the same signal.
 *
 * The child shares stdin, stdout and stderr (terminal detection, progress bar, pipes behave
 * as before). Signals: SIGTERM, SIGHUP and SIGUSR2 sent to this process are passed on to the
 * child; so are SIGINT and SIGQUIT, except while this process is in its terminal's foreground
 * process group, where the terminal (Ctrl-C, Ctrl-\) already delivered them to the child — passing
 * them on would make one Ctrl-C count twice (the CLI's second SIGINT exits at once). A child
 * whose launcher was killed outright (SIGKILL) stops itself with SIGTERM within a second.
 *
 * @example
 * ```js
 * // bin/gradstream.js
 * if (!relaunchWithOldSpace(fileURLToPath(import.meta.url), process.argv.slice(2))) {
 *   process.exitCode = await runCli(process.argv.slice(2))
 * }
 * ```
 * @param script absolute path of the script to run in the child
 * @param args its arguments
 */
export function relaunchWithOldSpace(script: string, args: readonly string[]): boolean {
  const own = process.execArgv
  if (own.some((a) => /^--(initial-old-space-size|inspect)/.test(a))) {
    stopWhenOrphaned()
    return false
  }
  const child = spawn(process.execPath, [...own, OLD_SPACE_OPTION, script, ...args], {
    stdio: 'inherit',
    env: { ...process.env, ...mallocTunables(), [LAUNCHER_PID]: String(process.pid) },
  })
  const handlers = new Map<NodeJS.Signals, () => void>()
  for (const signal of passedOn) {
    const handler = () => {
      if (fromTerminal.includes(signal) && inTerminalForeground()) return
      child.kill(signal)
    }
    process.on(signal, handler)
    handlers.set(signal, handler)
  }
  child.on('error', (e) => {
    process.stderr.write(`gradstream: cannot start ${process.execPath}: ${e.message}\n`)
    process.exitCode = 1
  })
  child.on('exit', (code, signal) => {
    for (const [s, h] of handlers) process.off(s, h)
    if (signal === null) {
      process.exitCode = code ?? 1
      return
    }
    process.kill(process.pid, signal)
    // in case the signal does not end this process (it was ignored), the shell's convention
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 1000)
  })
  return true
}

/** GLIBC_TUNABLES for the child: {@link MALLOC_TUNABLE} added on Linux, the user's own kept. */
function mallocTunables(): { GLIBC_TUNABLES?: string } {
  const own = process.env.GLIBC_TUNABLES
  if (process.platform !== 'linux' || own?.includes('glibc.malloc.hugetlb')) return {}
  return { GLIBC_TUNABLES: own ? `${own}:${MALLOC_TUNABLE}` : MALLOC_TUNABLE }
}

/** Signals a terminal sends to its whole foreground process group (the child included). */
const fromTerminal: readonly NodeJS.Signals[] = ['SIGINT', 'SIGQUIT']

const passedOn: readonly NodeJS.Signals[] =
  process.platform === 'win32'
    ? ['SIGHUP'] // Ctrl-C and Ctrl-Break reach every process of the console
    : ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP', 'SIGUSR2']

/**
 * Whether this process is in its controlling terminal's foreground process group
 * (`/proc/self/stat`: pgrp = tpgid); where /proc is missing, whether stdin is a terminal.
 */
function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // after "pid (comm) ": state ppid pgrp session tty_nr tpgid …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[2] === fields[5]
  } catch {
    return process.stdin.isTTY === true
  }
}

/** In a child started by a launcher: SIGTERM to itself once that launcher is gone. */
function stopWhenOrphaned(): void {
  const launcher = Number(process.env[LAUNCHER_PID])
  if (!(launcher > 0)) return
  delete process.env[LAUNCHER_PID]
  if (process.ppid !== launcher) return
  setInterval(() => {
    if (process.ppid !== launcher) process.kill(process.pid, 'SIGTERM')
  }, 500).unref()
}
