import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { MALLOC_TUNABLE, OLD_SPACE_OPTION } from '../../src/cli/relaunchWithOldSpace.js'
import { tempDir } from './harness.js'

// The launcher as bin/gradstream.js uses it, around a probe script instead of the command line:
// the probe prints what it runs with, and counts (and prints) the signals it gets until SIGUSR2.
// SIGUSR2 is the barrier: the test sends it only once the probe has printed the signal under
// test, and the launcher forwards in the order it was sent signals, so a duplicate it forwarded
// reached the probe before the barrier (on a loaded machine, sending both at once let the
// barrier overtake the signal itself).

const dir = tempDir('gradstream-relaunch-')
const probe = path.join(dir, 'probe.ts')
const source = pathToFileURL(
  path.resolve(import.meta.dirname, '../../src/cli/relaunchWithOldSpace.ts'),
)
writeFileSync(
  probe,
  `import { relaunchWithOldSpace } from ${JSON.stringify(source.href)}
const [mode] = process.argv.slice(2)
if (!relaunchWithOldSpace(${JSON.stringify(probe)}, process.argv.slice(2))) {
  const counts: Record<string, number> = {}
  const tunables = process.env.GLIBC_TUNABLES ?? null
  console.log('info ' + JSON.stringify({ pid: process.pid, ppid: process.ppid, execArgv: process.execArgv, mode, tunables }))
  if (mode === 'exit7') process.exit(7)
  if (mode === 'selfTerm') process.kill(process.pid, 'SIGTERM')
  if (mode === 'count') {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.on(s, () => {
        counts[s] = (counts[s] ?? 0) + 1
        console.log('got ' + s)
      })
    process.on('SIGUSR2', () =>
      setImmediate(() => {
        console.log('counts ' + JSON.stringify(counts))
        process.exit(0)
      }),
    )
  }
  if (mode === 'count' || mode === 'wait') {
    setInterval(() => {}, 1000)
    console.log('ready')
  }
}
`,
)
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly out: string
  readonly err: string
  readonly pid: number
}

/** Runs `node [options] --import tsx probe.ts mode`; `whenReady(pid)` once the probe is ready. */
function run(
  mode: string,
  opts: {
    options?: string[]
    /** GLIBC_TUNABLES for the launcher (default: none) */
    tunables?: string
    terminal?: boolean
    whenReady?: (r: { pid: number; info: Info }) => void
    /** once the output matches `seen`, `then` (once) */
    whenSeen?: { seen: RegExp; then: (r: { pid: number; info: Info }) => void }
  } = {},
): Promise<Run> {
  const argv = [...(opts.options ?? []), '--import', tsx, probe, mode]
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`
  const child = opts.terminal
    ? // a pseudo-terminal (util-linux `script`); what is written to its stdin is typed
      spawn('script', [
        '-qfec',
        `exec ${[process.execPath, ...argv].map(q).join(' ')}`,
        '/dev/null',
      ])
    : spawn(process.execPath, argv, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...withoutTunables, ...(opts.tunables ? { GLIBC_TUNABLES: opts.tunables } : {}) },
      })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    let ready = false
    let seen = false
    child.stdout!.on('data', (d) => {
      out += d
      if (!seen && opts.whenSeen?.seen.test(out)) {
        seen = true
        opts.whenSeen.then({ pid: child.pid!, info: infoOf(out) })
      }
      if (!ready && /ready/.test(out)) {
        ready = true
        opts.whenReady?.({ pid: child.pid!, info: infoOf(out) })
        if (opts.terminal) child.stdin!.write('\x03')
      }
    })
    child.stderr!.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, out, err, pid: child.pid! }))
  })
}

interface Info {
  pid: number
  ppid: number
  execArgv: string[]
  tunables: string | null
}
const { GLIBC_TUNABLES: _, ...withoutTunables } = process.env
const probes = new Set<number>()
const infoOf = (out: string): Info => {
  const info: Info = JSON.parse(/info (.*)/.exec(out)![1])
  probes.add(info.pid)
  return info
}
// a failed test may leave a probe running (the counting one ignores SIGTERM)
afterAll(() => probes.forEach((pid) => alive(pid) && process.kill(pid, 'SIGKILL')))
const countsOf = (out: string): Record<string, number> => JSON.parse(/counts (.*)/.exec(out)![1])

describe('relaunchWithOldSpace', () => {
  it('runs the script once more, in a child, with the option added once', async () => {
    const r = await run('info')
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const info = infoOf(r.out)
    expect(info.ppid).toBe(r.pid) // the launcher's child …
    expect(info.execArgv.filter((a) => a === OLD_SPACE_OPTION)).toHaveLength(1) // … with it once
    expect(info.execArgv).toContain(tsx) // and the launcher's own node options
  })

  it.runIf(process.platform === 'linux')(
    "asks glibc's malloc for huge pages in the child, keeping the user's own tunables",
    async () => {
      expect(infoOf((await run('info')).out).tunables).toBe(MALLOC_TUNABLE)
      const own = 'glibc.malloc.trim_threshold=1048576'
      expect(infoOf((await run('info', { tunables: own })).out).tunables).toBe(
        `${own}:${MALLOC_TUNABLE}`,
      )
      const off = 'glibc.malloc.hugetlb=0'
      expect(infoOf((await run('info', { tunables: off })).out).tunables).toBe(off)
    },
  )

  it('runs the script in place when the node options already set the initial old space', async () => {
    const r = await run('info', { options: ['--initial-old-space-size=32'] })
    expect(r.code).toBe(0)
    expect(infoOf(r.out).pid).toBe(r.pid)
    expect(infoOf(r.out).execArgv).not.toContain(OLD_SPACE_OPTION)
  })

  it("ends with the child's exit code, or killed by the child's signal", async () => {
    expect((await run('exit7')).code).toBe(7)
    const killed = await run('selfTerm')
    expect(killed.code).toBe(null)
    expect(killed.signal).toBe('SIGTERM')
  })

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'passes %s sent to it (not from a terminal) to the command once',
    async (signal) => {
      const r = await run('count', {
        whenReady: ({ pid }) => process.kill(pid, signal),
        whenSeen: {
          seen: new RegExp(`got ${signal}`),
          then: ({ pid }) => process.kill(pid, 'SIGUSR2'),
        },
      })
      expect(countsOf(r.out)).toEqual({ [signal]: 1 })
      expect(r.code).toBe(0)
    },
  )

  it('lets one Ctrl-C on a terminal reach the command once (not once more from itself)', async () => {
    const r = await run('count', {
      terminal: true,
      // the Ctrl-C is typed once the probe is ready; once it has reached the probe, the barrier,
      // to the launcher (a second SIGINT from the launcher would reach the probe before it)
      whenSeen: { seen: /got SIGINT/, then: ({ info }) => process.kill(info.ppid, 'SIGUSR2') },
    })
    expect(countsOf(r.out)).toEqual({ SIGINT: 1 })
  })

  it('a child whose launcher is killed outright stops', async () => {
    let childPid = 0
    const r = await run('wait', {
      whenReady: ({ pid, info }) => {
        childPid = info.pid
        process.kill(pid, 'SIGKILL')
      },
    })
    expect(r.signal).toBe('SIGKILL')
    // the orphaned child notices (it checks every 0.5 s) and ends itself
    await expect.poll(() => alive(childPid), { timeout: 10_000, interval: 100 }).toBe(false)
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
