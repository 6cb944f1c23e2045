import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { from, lastValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { progressFormat } from '../../src/cli/report.js'
import { atFrameRate } from '../../src/cli/serve.js'
import type { TrainState } from '../../src/state/types.js'
import { decodeWireLine } from '../../src/state/wireFormat.js'
import { cli, tempDir } from './harness.js'

// One test per defect of the command line found by trying it as a new user (issue 15). The
// terminal ones run the command in a pseudo-terminal (util-linux `script`), where the escape
// sequences it writes can be read back.

const root = path.resolve(import.meta.dirname, '../..')
const dir = tempDir('gradstream-cmd-')
const at = (name: string) => path.join(dir, name)

/** `node <flags> src/cli/main.ts` from the sources, from any folder (tsx found by path). */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const command = ['--import', tsx, path.join(root, 'src/cli/main.ts')]
const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`

interface Exit {
  code: number | null
  out: string
  err: string
}

/** Runs `sh -c script`; `interruptWhen`: writes Ctrl-C to its stdin once stdout matches. */
function shell(script: string, opts: { cwd?: string; interruptWhen?: RegExp } = {}) {
  return new Promise<Exit>((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { cwd: opts.cwd ?? root })
    let out = ''
    let err = ''
    let sent = false
    child.stdout.on('data', (d) => {
      out += d
      if (opts.interruptWhen && !sent && opts.interruptWhen.test(out)) {
        sent = true
        child.stdin.write('\x03')
      }
    })
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

/** `args` run in a pseudo-terminal 80 columns wide; stdin reaches it as typed keys. */
const inTerminal = (args: string[]) =>
  `script -qfec ${quote(`stty cols 80 rows 24; exec ${[process.execPath, ...command, ...args].map(quote).join(' ')}`)} /dev/null`

/** The text of the terminal's last line as drawn: after the last carriage return or ESC[1G. */
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')

const small = ['--train-size', '500', '--test-size', '100', '--hidden', '10', '--batch', '10']

describe('on a terminal', () => {
  it('Ctrl-C without --checkpoint gives the cursor and line wrapping back, exits 130', async () => {
    const r = await shell(
      inTerminal(['train', 'mnist', ...small, '--iters', '1000000', '--out', at('c.svg')]),
      { interruptWhen: /\/s ETA/ },
    )
    expect(r.code).toBe(130)
    const hid = r.out.lastIndexOf('\x1b[?25l')
    const unwrapped = r.out.lastIndexOf('\x1b[?7l')
    expect(hid).toBeGreaterThanOrEqual(0) // the bar did hide it …
    expect(r.out.indexOf('\x1b[?25h', hid)).toBeGreaterThan(hid) // … and shows it again
    expect(unwrapped).toBeGreaterThanOrEqual(0)
    expect(r.out.indexOf('\x1b[?7h', unwrapped)).toBeGreaterThan(unwrapped)
    expect(stripAnsi(r.out)).toMatch(
      /interrupted at step \d+ \(--checkpoint FILE would have saved it\)/,
    )
  })

  it('the last progress line fits 80 columns, speed and ETA whole', async () => {
    const r = await shell(
      inTerminal(['train', 'mnist', ...small, '--iters', '300', '--out', at('p.svg')]),
    )
    expect(r.code).toBe(0)
    const draws = r.out.split(/\r|\x1b\[1G/).map(stripAnsi)
    const last = draws.filter((d) => d.startsWith('300/300 ')).at(-1)!
    expect(last).toMatch(/^300\/300 \S+ loss \d\.\d{4} acc \d\.\d{4} \d+\/s ETA 0s$/)
    expect(last.length).toBeLessThan(80)
  })

  it('the bar fits 70 columns up to 10⁶ steps, 80 up to 10⁹', () => {
    for (const columns of [70, 80, 100, 200]) {
      for (const iters of [1, 300, 10_000, 1e6, ...(columns >= 80 ? [1e9] : [])]) {
        const { format, barsize } = progressFormat(iters, columns)
        const widest = format
          .replace('{value}', String(iters))
          .replace('{total}', String(iters))
          .replace('{bar}', 'x'.repeat(barsize))
          .replace('{loss}', '0.0000')
          .replace('{acc}', '0.0000')
          .replace('{speed}', '99999')
          .replace('{remaining}', '1h02m')
        expect(widest.length, `${iters} steps, ${columns} columns`).toBeLessThan(columns)
        expect(barsize).toBeGreaterThanOrEqual(10)
      }
    }
  })
})

describe('as a process', () => {
  it('| head: a reader that goes away ends it quietly with 0 (no EPIPE trace)', async () => {
    // about 2,000 JSON lines: far more than a pipe buffer, so writes fail after head exits
    const args = ['train', 'mnist', ...small, '--iters', '2000', '--log-every', '1', '--json']
    const piped = await shell(
      `bash -c ${quote(`set -o pipefail; ${[process.execPath, ...command, ...args, '--out', at('h.svg')].map(quote).join(' ')} | head -n 2 > /dev/null`)}`,
    )
    expect(piped.err).not.toMatch(/EPIPE|Error|\n\s+at /)
    expect(piped.code).toBe(0) // pipefail: node's own status
  })

  it('writes its outputs into ./runs/ of the current folder and says where', async () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cwd-'))
    const r = await shell(
      [process.execPath, ...command, 'train', 'mnist', ...small, '--iters', '3']
        .map(quote)
        .join(' '),
      { cwd },
    )
    expect(r.code).toBe(0)
    expect(r.out).toContain('\nloss curve: runs/mnist-loss.svg\n')
    expect(fs.readFileSync(path.join(cwd, 'runs/mnist-loss.svg'), 'utf8')).toMatch(/^<svg/)
    expect(fs.readdirSync(cwd)).toEqual(['runs'])
  })
})

describe('flags', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
    const r = await cli(['--version'])
    expect(r).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' })
  })

  it.each([
    [
      ['--iters', '0'],
      `option '--iters <n>' argument '0' is invalid. --iters: expected a positive integer, got "0"`,
    ],
    [
      ['--init', 'foo'],
      `option '--init <std|xavier|he>' argument 'foo' is invalid. --init: expected a positive number (the weights' std), xavier or he, got "foo"`,
    ],
    [
      ['--hidden', '100000'],
      `option '--hidden <n>' argument '100000' is invalid. --hidden: expected an integer in [1, 10000], got "100000"`,
    ],
    [
      ['--layers', '100,20000'],
      `option '--layers <widths>' argument '100,20000' is invalid. --layers: expected an integer in [1, 10000], got "20000"`,
    ],
    [
      ['--train-size', '60001'],
      'train mnist: --train-size: expected at most 60000 (the training images), got 60001',
    ],
    [
      ['--train-size', '100', '--test-size', '10001'],
      'train mnist: --test-size: expected at most 10000 (the test images), got 10001',
    ],
    [
      ['--train-size', '500', '--batch', '501'],
      'train mnist: --batch: expected at most 500 (the training images), got 501',
    ],
  ])('%j is refused: %s', async (flags, message) => {
    const r = await cli(['train', 'mnist', ...flags])
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err).toBe(`${message.startsWith('option') ? 'error: ' : ''}${message}\n`)
  })
})

describe('--resume', () => {
  const run = (extra: string[]) =>
    cli([
      'train',
      'mnist',
      ...small,
      '--eval-every',
      '50',
      '--optimizer',
      'momentum',
      '--seed',
      '3',
      ...extra,
    ])
  const finished = at('finished.json')
  let uninterrupted = ''

  it('a checkpoint records the configuration; a conflicting flag is refused, naming it', async () => {
    const first = await run(['--iters', '100', '--checkpoint', finished, '--out', at('r1.svg')])
    expect(first.code).toBe(0)
    const { run: record } = JSON.parse(fs.readFileSync(finished, 'utf8'))
    expect(record.config).toMatchObject({
      hidden: 10,
      batch: 10,
      optimizer: 'momentum',
      seed: 3,
      trainSize: 500,
    })
    expect(record.recentLosses).toHaveLength(100)
    for (const [flag, value, recorded] of [
      ['--hidden', '100', '10'],
      ['--optimizer', 'adam', 'momentum'],
      ['--activation', 'relu', 'none'],
      ['--seed', '4', '3'],
    ]) {
      const r = await cli(['train', 'mnist', '--resume', finished, '--iters', '150', flag, value])
      expect(r.code, flag).toBe(1)
      expect(r.err).toBe(
        `--resume ${finished}: ${flag}: expected ${recorded} (the checkpointed run's; leave the flag out to keep it), got ${value}\n`,
      )
    }
  })

  it("without the flags, takes the checkpoint's and says so; continues like the uninterrupted run", async () => {
    const whole = await run(['--iters', '150', '--out', at('w.svg')])
    uninterrupted = whole.out
    const r = await cli([
      'train',
      'mnist',
      '--resume',
      finished,
      '--iters',
      '150',
      '--hidden',
      '10',
      '--out',
      at('r2.svg'),
    ])
    expect(r.err).toBe('')
    expect(r.out).toContain(
      `resuming ${finished} at step 100 with the checkpoint's --batch 10 --optimizer momentum --seed 3 --train-size 500 --test-size 100\n`,
    )
    // no line for the checkpoint's own evaluation (step 100) or after it until the next one
    expect(r.out).not.toMatch(/^epoch \S+ +step 10\d /m)
    const lines = (text: string) => text.split('\n').filter((l) => /^(epoch 3 |final:)/.test(l))
    expect(lines(r.out)).toEqual(lines(uninterrupted))
    expect(lines(r.out)).toHaveLength(2)
  })

  it('--json frames after resuming carry only their own evaluations', async () => {
    const r = await cli([
      'train',
      'mnist',
      '--resume',
      finished,
      '--iters',
      '150',
      '--json',
      '--log-every',
      '10',
      '--out',
      at('j.svg'),
    ])
    expect(r.code).toBe(0)
    const frames = r.out.trim().split('\n').map(decodeWireLine)
    expect(frames.map((f) => f.step)).toEqual([110, 120, 130, 140, 150])
    expect(frames.map((f) => f.metrics.testAcc)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      expect.any(Number),
    ])
  })

  it('resuming a finished run prints its final loss', async () => {
    const original = (await run(['--iters', '100', '--out', at('o.svg')])).out
    const r = await cli([
      'train',
      'mnist',
      '--resume',
      finished,
      '--out',
      at('f.svg'),
      '--iters',
      '100',
    ])
    expect(r.code).toBe(0)
    const final = (text: string) => text.split('\n').find((l) => l.startsWith('final:'))
    expect(final(r.out)).toMatch(/^final: loss \d\.\d{4} \(mean of the last 100 iterations\)/)
    expect(final(r.out)).toBe(final(original))
    expect(r.out).toContain('done: 100 iterations (0 after resuming)')
  })
})

describe('--serve', () => {
  it('passes a frame rate of states: the first, every evaluation, the last; not every step', async () => {
    const state = (step: number, metrics = {}) =>
      ({ step, loss: 1, metrics }) as unknown as TrainState
    const states = Array.from({ length: 20_000 }, (_, i) =>
      state(i, i % 5000 === 0 && i > 0 ? { testAcc: 0.9 } : {}),
    )
    const t0 = performance.now()
    const sent = await lastValueFrom(from(states).pipe(atFrameRate(30), toArray()))
    const ms = performance.now() - t0
    // the bound from the rule: one per elapsed 1/30 s (plus the first), the 3 evaluations, the last
    expect(sent.length).toBeLessThanOrEqual(1 + Math.ceil(ms / (1000 / 30)) + 3 + 1)
    expect(sent.map((s) => s.step)).toEqual(expect.arrayContaining([0, 5000, 10000, 15000, 19999]))
    expect(sent.at(-1)!.step).toBe(19999)
  })
})
