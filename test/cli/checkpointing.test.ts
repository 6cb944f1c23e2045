import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe as group, expect, it } from 'vitest'
import {
  MAX_CHECKPOINT_BYTES,
  readCheckpointFile,
  writeFileAtomic,
} from '../../src/cli/checkpointing.js'
import { rng } from '../../src/random/rng.js'
import { checkpoint, restore } from '../../src/state/checkpoint.js'
import { toJson } from '../../src/state/json.js'

const dir = fs.mkdtempSync(join(tmpdir(), 'gradstream-ckpt-'))
const at = (name: string) => join(dir, name)

// A short MNIST run: 500 training / 100 test images, a 784-10-10 net, batches of 10.
const ITERS = 600
const flags = (extra: string[]) => [
  // the sources under tsx (the built bin is tested on a packed copy: test/package)
  '--import',
  'tsx',
  'src/cli/main.ts',
  'train',
  'mnist',
  '--train-size',
  '500',
  '--test-size',
  '100',
  '--hidden',
  '10',
  '--batch',
  '10',
  '--iters',
  String(ITERS),
  '--eval-every',
  '50',
  '--seed',
  '7',
  '--optimizer',
  'momentum',
  '--no-progress',
  '--out',
  at('loss.svg'),
  ...extra,
]

interface Exit {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI; `whenFileAppears` sends SIGINT as soon as that file exists (mid-run). */
function cli(args: string[], whenFileAppears?: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, flags(args), { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let poll: NodeJS.Timeout | undefined
    if (whenFileAppears !== undefined) {
      poll = setInterval(() => {
        if (fs.existsSync(whenFileAppears)) {
          clearInterval(poll)
          child.kill('SIGINT')
        }
      }, 5)
    }
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(poll)
      resolve({ code, stdout, stderr })
    })
  })
}

const paramsText = (file: string) =>
  JSON.stringify(toJson(restore(fs.readFileSync(file, 'utf8')).params))

group('CLI checkpoints', () => {
  it('killed by SIGINT mid-run and resumed, ends with the parameters of an uninterrupted run', async () => {
    const [full, part] = await Promise.all([
      cli(['--checkpoint', at('full.json')]),
      cli(['--checkpoint', at('part.json')], at('part.json')),
    ])
    expect(full.code, full.stderr).toBe(0)
    // the interrupted run wrote its last state and said so, with exit code 130 (128 + SIGINT)
    expect(part.code, part.stderr).toBe(130)
    const stoppedAt = restore(fs.readFileSync(at('part.json'), 'utf8')).step
    expect(stoppedAt).toBeGreaterThan(0)
    expect(stoppedAt).toBeLessThan(ITERS)
    expect(part.stderr).toContain(
      `interrupted at step ${stoppedAt}: checkpoint written to ${at('part.json')} (continue with --resume ${at('part.json')})`,
    )

    const resumed = await cli(['--resume', at('part.json'), '--checkpoint', at('resumed.json')])
    expect(resumed.code, resumed.stderr).toBe(0)
    const end = restore(fs.readFileSync(at('resumed.json'), 'utf8'))
    expect(end.step).toBe(ITERS)
    // toJson writes every double's bytes, so equal text means bit-identical parameters
    expect(paramsText(at('resumed.json'))).toBe(paramsText(at('full.json')))
    const fullState = restore(fs.readFileSync(at('full.json'), 'utf8'))
    expect(JSON.stringify(toJson(end.opt))).toBe(JSON.stringify(toJson(fullState.opt)))
    expect(end.rng).toEqual(fullState.rng)
    console.log(
      `SIGINT at step ${stoppedAt} of ${ITERS}; resumed run matches the uninterrupted one`,
    )
  })

  it('rejects a checkpoint truncated at a random byte and leaves the previous good file untouched', async () => {
    const good = fs.readFileSync(at('full.json'))
    fs.writeFileSync(at('good.json'), good)
    const [cut] = fc.sample(fc.nat({ max: good.length - 1 }), 1)
    fs.writeFileSync(at('cut.json'), good.subarray(0, cut))
    const r = await cli(['--resume', at('cut.json'), '--checkpoint', at('good.json')])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(
        `^--resume ${at('cut.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: json: expected a complete JSON checkpoint, got invalid JSON \\(.+\\)\\n$`,
      ),
    )
    expect(fs.readFileSync(at('good.json')).equals(good)).toBe(true)
    console.log(`truncated at byte ${cut} of ${good.length}: ${r.stderr.trim()}`)
  })

  it('every truncation of a checkpoint file is refused by readCheckpointFile (property)', () => {
    const good = fs.readFileSync(at('full.json'))
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), (cut) => {
        fs.writeFileSync(at('prop.json'), good.subarray(0, cut))
        expect(() => readCheckpointFile(at('prop.json'))).toThrow(
          /^--resume .*prop\.json: json: expected a complete JSON checkpoint, got invalid JSON \(.+\)$/,
        )
      }),
    )
    expect(() => readCheckpointFile(at('missing.json'))).toThrow(
      `--resume ${at('missing.json')}: file: expected a readable checkpoint file, got ENOENT`,
    )
  })

  // issue 20: --resume on files that are not checkpoints, refused at once with the limit
  it('readCheckpointFile refuses /dev/zero (a symlink to it), a FIFO and a sparse 1 GiB file', () => {
    fs.symlinkSync('/dev/zero', at('zero.json'))
    expect(() => readCheckpointFile(at('zero.json'))).toThrow(
      new TypeError(
        `--resume ${at('zero.json')}: file: expected a regular file, got a character device`,
      ),
    )
    if (spawnSync('mkfifo', [at('fifo.json')]).status === 0) {
      expect(() => readCheckpointFile(at('fifo.json'))).toThrow(
        new TypeError(
          `--resume ${at('fifo.json')}: file: expected a regular file, got a FIFO (named pipe)`,
        ),
      )
    }
    const fd = fs.openSync(at('huge.json'), 'w')
    fs.ftruncateSync(fd, 2 ** 30)
    fs.closeSync(fd)
    expect(() => readCheckpointFile(at('huge.json'))).toThrow(
      new RangeError(
        `--resume ${at('huge.json')}: size: expected at most 256 MiB (268435456 bytes), got ${2 ** 30} bytes`,
      ),
    )
    expect(MAX_CHECKPOINT_BYTES).toBe(256 * 2 ** 20)
  })

  it('readCheckpointFile refuses a loss or lr of 1e400 (JSON that overflows to Infinity)', () => {
    const text = checkpoint({
      step: 1,
      params: { w: 1 },
      loss: 0.5,
      grad: { w: 2 },
      lr: 0.1,
      opt: {},
      hyper: {},
      evaluations: 2,
      rng: rng(1).state(),
      history: [],
      metrics: {},
    })
    for (const field of ['loss', 'lr']) {
      const bad = text.replace(new RegExp(`"${field}":[0-9.]+,`), `"${field}":1e400,`)
      expect(bad).not.toBe(text)
      fs.writeFileSync(at('inf.json'), bad)
      expect(() => readCheckpointFile(at('inf.json'))).toThrow(
        new TypeError(
          `--resume ${at('inf.json')}: state.${field}: expected a number within the double range (±Infinity is written tagged), got Infinity`,
        ),
      )
    }
  })

  it('writeFileAtomic replaces the file whole, and leaves it untouched when the write fails', () => {
    const f = at('atomic/run.json')
    writeFileAtomic(f, 'first')
    writeFileAtomic(f, 'second')
    expect(fs.readFileSync(f, 'utf8')).toBe('second')
    // make the temporary file impossible to create: a directory stands where it would go
    fs.mkdirSync(`${f}.${process.pid}.tmp`)
    expect(() => writeFileAtomic(f, 'third')).toThrow(/EISDIR/)
    expect(fs.readFileSync(f, 'utf8')).toBe('second')
    expect(fs.readdirSync(at('atomic')).sort()).toEqual([`run.json`, `run.json.${process.pid}.tmp`])
  })
})
