import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { restore } from '../../src/state/checkpoint.js'
import { decodeWireLine } from '../../src/state/wireFormat.js'
import { cli, tempDir } from './harness.js'

const dir = tempDir('gradstream-cli-')

describe('gradstream train mnist', () => {
  it('--json: one wire-format line per sampled state; loss falls and accuracy beats chance', async () => {
    const svg = path.join(dir, 'loss.svg')
    const ckpt = path.join(dir, 'run.json')
    const { code, out, err } = await cli([
      'train',
      'mnist',
      '--iters',
      '50',
      '--train-size',
      '1000',
      '--test-size',
      '500',
      '--optimizer',
      'adam',
      '--lr',
      '0.01',
      '--eval-every',
      '25',
      '--log-every',
      '10',
      '--json',
      '--out',
      svg,
      '--checkpoint',
      ckpt,
    ])
    expect(code).toBe(0)
    const frames = out.trim().split('\n').map(decodeWireLine)
    // steps 0, 10, 20, 25 (evaluation), 30, 40, 50 (last)
    expect(frames.map((f) => f.step)).toEqual([0, 10, 20, 25, 30, 40, 50])
    expect(frames.at(-1)!.stopReason).toEqual({ rule: 'maxSteps', steps: 50 })
    expect(Object.keys(frames[3].metrics).sort()).toEqual(['testAcc', 'trainAcc'])
    expect(frames[1].loss).toBeGreaterThan(frames.at(-1)!.loss)
    // 10 classes: chance is 0.1; 50 Adam steps on 1,000 images reach ~0.8
    expect(frames.at(-1)!.metrics.testAcc).toBeGreaterThan(0.5)
    // the human summary goes to stderr, so stdout stays machine-readable
    expect(err).toMatch(
      /^gradstream train mnist: TwoLayerNet 784-50-10, adam lr 0.01, batch 100, 50 iterations/,
    )
    expect(err).toMatch(
      /\ndone: 50 iterations in [\d.]+ s \(training [\d.]+ s = \d+ steps\/s, accuracy measurements [\d.]+ s\)\n/,
    )
    expect(err).toMatch(
      /\nfinal: loss [\d.]+ \(mean of the last 50 iterations\), train acc 0\.\d{4}, test acc 0\.\d{4}\n/,
    )
    expect(fs.readFileSync(svg, 'utf8')).toMatch(
      /^<svg [^>]*>[\s\S]*<polyline [^>]*points="[\d., ]+"\/>[\s\S]*<\/svg>\n$/,
    )
    expect(restore(fs.readFileSync(ckpt, 'utf8')).step).toBe(50)
  })

  it('plain lines off a terminal: a line per evaluation (the book’s per-epoch accuracy) and a summary', async () => {
    const { code, out } = await cli([
      'train',
      'mnist',
      '--iters',
      '20',
      '--train-size',
      '500',
      '--test-size',
      '100',
      '--batch',
      '50',
      '--out',
      path.join(dir, 'plain.svg'),
    ])
    expect(code).toBe(0)
    const lines = out.trim().split('\n')
    // 500 images / batch 50 = 10 steps an epoch: evaluations at steps 0, 10, 20
    expect(lines.filter((l) => l.startsWith('epoch '))).toHaveLength(3)
    expect(lines[1]).toMatch(
      /^epoch 0 {2}step 0 {2}loss - {2}train acc 0\.\d{4} {2}test acc 0\.\d{4}$/,
    )
    expect(lines[3]).toMatch(
      /^epoch 2 {2}step 20 {2}loss \d\.\d{4} {2}train acc 0\.\d{4} {2}test acc 0\.\d{4}$/,
    )
    expect(lines.at(-1)).toBe(`loss curve: ${path.join(dir, 'plain.svg')}`)
  })

  it('--activation relu / --layers train an mlp by autodiff instead of the sigmoid TwoLayerNet', async () => {
    const { code, out } = await cli([
      'train',
      'mnist',
      '--activation',
      'relu',
      '--layers',
      '30,20',
      '--iters',
      '20',
      '--train-size',
      '500',
      '--test-size',
      '100',
      '--optimizer',
      'adam',
      '--lr',
      '0.01',
      '--out',
      path.join(dir, 'mlp.svg'),
    ])
    expect(code).toBe(0)
    expect(out).toMatch(
      /^gradstream train mnist: MLP 784-30-20-10 relu, adam lr 0.01, batch 100, 20 iterations/,
    )
    const last = out
      .split('\n')
      .filter((l) => l.startsWith('epoch '))
      .at(-1)!
    // 20 Adam steps on 500 images: well above the 0.1 of chance
    expect(Number(/test acc (0\.\d+)/.exec(last)![1])).toBeGreaterThan(0.3)
  })

  it('rejects bad flags with the flag, what it expects and the value', async () => {
    const bad = await cli(['train', 'mnist', '--hidden', 'abc'])
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('--hidden: expected an integer in [1, 10000], got "abc"')
    const both = await cli(['train', 'mnist', '--epochs', '1', '--iters', '5'])
    expect(both.err).toContain("option '--epochs <n>' cannot be used with option '--iters <n>'")
    const opt = await cli(['train', 'mnist', '--optimizer', 'foo'])
    expect(opt.err).toContain(
      "argument 'foo' is invalid. Allowed choices are sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, lion",
    )
  })
})
