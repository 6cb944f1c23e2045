import { lastValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { scheduleFreeEvalParams } from '../../operators/optimizers/scheduleFreeEvalParams.js'
import { main } from '../../src/cli/main.js'
import { BOOK_DEFAULTS, mnistTraining } from '../../src/cli/trainMnist.js'
import { loadMnist } from '../../src/data/loadMnist.js'
import { accuracy } from '../../src/nn/accuracy.js'
import { twoLayerNet } from '../../src/nn/twoLayerNet.js'
import { decodeWireLine } from '../../src/state/wireFormat.js'

// The CLI's names for issue 17's optimizers: --optimizer sam-sgd | schedule-free-sgd |
// schedule-free-adamw, --rho, --b1, --warmup, --accumulate K.

const data = loadMnist({ normalize: true, oneHotLabel: true, trainSize: 300, testSize: 100 })
const small = { ...BOOK_DEFAULTS, iters: 12, evalEvery: 4, lr: 0.5 }
const run = (opts: Partial<typeof small> & Record<string, unknown>) =>
  lastValueFrom(mnistTraining({ ...small, ...opts }, { data }).run$.pipe(toArray()))

describe('gradstream train mnist: whole-step optimizers', () => {
  it('schedule-free: accuracy is measured on x = scheduleFreeEvalParams(state), not on y', async () => {
    const states = await run({ optimizer: 'schedule-free-sgd', b1: 0.8, warmup: 3 })
    // the same net the CLI builds (book defaults: 784-50-10, weights 0.01·randn, seed 0)
    const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 0 })
    for (const s of states.filter((x) => x.step % 4 === 0)) {
      const x = scheduleFreeEvalParams(s)
      expect(s.metrics.testAcc, `step ${s.step}`).toBe(accuracy(net, x, data.test.x, data.test.t))
      if (s.step > 0) expect(x.W1.data).not.toEqual(s.params.W1.data) // x is not y
    }
    expect(states[12].hyper['scheduleFree.lr']).toBe(0.5) // after the warmup
    expect(states[1].hyper['scheduleFree.lr']).toBeCloseTo(0.5 / 3, 15) // γ at t = 1 of 3
  })

  it('sam-sgd evaluates twice a step; --accumulate 3 moves the weights every third step', async () => {
    const samStates = await run({ optimizer: 'sam-sgd', rho: 0.1 })
    expect(samStates.map((s) => s.evaluations)).toEqual(samStates.map((s) => 2 * s.step))
    const acc = await run({ optimizer: 'sgd', accumulate: 3 })
    for (const s of acc.slice(1)) {
      const same = acc[s.step - 1].params.W1.data.every((v, i) => Object.is(v, s.params.W1.data[i]))
      expect(same, `step ${s.step}`).toBe(s.step % 3 !== 0)
    }
  })

  it('parses the flags (schedule-free-adamw with --warmup, --b1, --accumulate) and runs', async () => {
    let out = ''
    const code = await main(
      [
        'train',
        'mnist',
        '--optimizer',
        'schedule-free-adamw',
        '--lr',
        '0.01',
        '--warmup',
        '4',
        '--b1',
        '0.95',
        '--accumulate',
        '2',
        '--iters',
        '8',
        '--train-size',
        '200',
        '--test-size',
        '100',
        '--json',
        '--log-every',
        '4',
        '--out',
        '/dev/null',
      ],
      { stdout: { write: (s: string) => (out += s), isTTY: false }, stderr: { write: () => true } },
    )
    expect(code).toBe(0)
    const frames = out.trim().split('\n').map(decodeWireLine)
    expect(frames.at(-1)!.step).toBe(8)
    expect(frames.at(-1)!.metrics.testAcc).toBeGreaterThan(0)
    let err = ''
    await main(['train', 'mnist', '--rho', '-1'], {
      stdout: { write: () => true, isTTY: false },
      stderr: { write: (s: string) => (err += s) },
    })
    expect(err).toContain('--rho: expected a positive number, got "-1"')
  })
})
