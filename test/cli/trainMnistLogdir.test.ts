import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { readEventFile, scalarsOf } from '../logging/eventFileReader.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradstream-cli-logdir-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

async function cli(args: string[]) {
  let out = ''
  let err = ''
  const code = await main(args, {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s) },
  })
  return { code, out, err }
}

describe('gradstream train mnist --logdir / --csv', () => {
  it('--iters 300 --train-size 2000 --logdir: 300 loss scalars, train/test accuracy at each evaluation; --csv the same rows', async () => {
    const logdir = path.join(dir, 'runs', 'tb')
    const csv = path.join(dir, 'runs', 'run.csv')
    const { code, out, err } = await cli([
      'train',
      'mnist',
      '--iters',
      '300',
      '--train-size',
      '2000',
      '--logdir',
      logdir,
      '--csv',
      csv,
      '--out',
      path.join(dir, 'loss.svg'),
      '--no-progress',
    ])
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out).toContain(`TensorBoard events: ${logdir} (tensorboard --logdir ${logdir})\n`)
    expect(out).toContain(`CSV: ${csv}\n`)

    const files = fs.readdirSync(logdir)
    expect(files).toHaveLength(1)
    const { events, problem } = readEventFile(fs.readFileSync(path.join(logdir, files[0])))
    expect(problem).toBeUndefined()
    expect(events[0].file_version).toBe('brain.Event:2')
    const scalars = scalarsOf(events)
    const steps = (tag: string) => scalars.get(tag)!.map(([s]) => s)
    const range = (from: number, to: number, by = 1) =>
      Array.from({ length: Math.floor((to - from) / by) + 1 }, (_, i) => from + i * by)
    expect(steps('loss')).toEqual(range(1, 300))
    expect(steps('lr')).toEqual(range(1, 300))
    expect(steps('gradNorm')).toEqual(range(1, 300))
    // an evaluation per epoch (2000 images / batch 100 = 20 steps), from step 0 to the last
    expect(steps('trainAcc')).toEqual(range(0, 300, 20))
    expect(steps('testAcc')).toEqual(range(0, 300, 20))
    expect(scalars.get('lr')!.every(([, v]) => v === Math.fround(0.1))).toBe(true)

    // the CSV holds the same values, as doubles (the event file holds float32)
    const [header, ...rows] = fs
      .readFileSync(csv, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(','))
    expect(header).toEqual(['step', 'loss', 'lr', 'gradNorm', 'trainAcc', 'testAcc'])
    expect(rows).toHaveLength(301)
    const loss = new Map(scalars.get('loss'))
    for (const r of rows.slice(1)) expect(loss.get(Number(r[0]))).toBe(Math.fround(Number(r[1])))
    const testAcc = new Map(scalars.get('testAcc'))
    for (const [step, v] of testAcc) expect(v).toBe(Math.fround(Number(rows[step][5])))

    // the run's configuration as text
    const config = events[1].summary!.value.find((v) => v.tag === 'config')!
    const text = Buffer.from(config.tensor!.string_val[0]).toString('utf8')
    expect(JSON.parse(text.replace(/^```json\n|\n```$/g, ''))).toMatchObject({
      network: 'TwoLayerNet 784-50-10',
      iters: 300,
      evalEvery: 20,
      trainSize: 2000,
    })
  })
})
