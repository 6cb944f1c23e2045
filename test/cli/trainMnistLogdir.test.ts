import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { readEventFile, scalarsOf } from '../logging/eventFileReader.js'
import { cli, tempDir } from './harness.js'

const dir = tempDir('gradstream-cli-logdir-')

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

  it('--histograms-every 25 --no-grad-norm: parameter histograms every 25 steps, no gradNorm in either file', async () => {
    const logdir = path.join(dir, 'runs', 'tb-histograms')
    const csv = path.join(dir, 'runs', 'no-norm.csv')
    const { code, err } = await cli([
      'train',
      'mnist',
      '--iters',
      '60',
      '--train-size',
      '1000',
      '--test-size',
      '500',
      '--logdir',
      logdir,
      '--csv',
      csv,
      '--histograms-every',
      '25',
      '--no-grad-norm',
      '--out',
      path.join(dir, 'loss-h.svg'),
      '--no-progress',
    ])
    expect(err).toBe('')
    expect(code).toBe(0)
    const files = fs.readdirSync(logdir)
    expect(files).toHaveLength(1)
    const { events, problem } = readEventFile(fs.readFileSync(path.join(logdir, files[0])))
    expect(problem).toBeUndefined()
    const scalars = scalarsOf(events)
    expect([...scalars.keys()].sort()).toEqual(['loss', 'lr', 'testAcc', 'trainAcc'])
    expect(scalars.get('loss')).toHaveLength(60)
    // a histogram of each of W1, b1, W2, b2 at steps 0, 25, 50, counting every weight
    const histos = events.flatMap((e) =>
      (e.summary?.value ?? []).filter((v) => v.histo != null).map((v) => ({ step: e.step, ...v })),
    )
    expect(histos.map((h) => `${h.step} ${h.tag}`)).toEqual(
      [0, 25, 50].flatMap((s) => ['W1', 'W2', 'b1', 'b2'].map((k) => `${s} params/${k}`)),
    )
    const sizes: Record<string, number> = { W1: 784 * 50, b1: 50, W2: 50 * 10, b2: 10 }
    for (const h of histos) {
      expect(h.histo!.num, `${h.step} ${h.tag}`).toBe(sizes[h.tag.slice('params/'.length)])
      expect(h.histo!.bucket.reduce((a, c) => a + c, 0)).toBe(h.histo!.num)
    }
    const header = fs.readFileSync(csv, 'utf8').split('\n')[0]
    expect(header).toBe('step,loss,lr,trainAcc,testAcc')
  })

  it('--histograms-every without --logdir is refused, naming both flags', async () => {
    const r = await cli(['train', 'mnist', '--histograms-every', '10', '--iters', '1'])
    expect(r).toEqual({
      code: 1,
      out: '',
      err: 'train mnist: --histograms-every: needs --logdir (the histograms go to its event file)\n',
    })
    const zero = await cli(['train', 'mnist', '--logdir', dir, '--histograms-every', '0'])
    expect(zero.code).toBe(1)
    expect(zero.err).toBe(
      `error: option '--histograms-every <n>' argument '0' is invalid. --histograms-every: expected a positive integer, got "0"\n`,
    )
  })

  it('--help names the flags of what the writers record', async () => {
    const { code, out } = await cli(['train', 'mnist', '--help'])
    expect(code).toBe(0)
    const help = out.replace(/\n {20,}/g, ' ') // commander wraps descriptions onto indented lines
    expect(help).toContain(
      '--logdir <dir>          write a TensorBoard event file into this folder',
    )
    expect(help).toContain(
      '--histograms-every <n>  with --logdir: a histogram of each parameter every n steps (default none)',
    )
    expect(help).toContain(
      '--no-grad-norm          leave gradNorm (‖grad‖₂, a read of the whole gradient each step) out of --logdir and --csv',
    )
  })
})
