import fc from 'fast-check'
import type { Type } from 'io-ts'
import { of } from 'rxjs'
import { pipe } from 'rxjs'
import { describe as group, expect, it, vi } from 'vitest'
import {
  chunked,
  derivative,
  numericalDiff,
  randomBatches,
  tensor,
  train,
  twoLayerNet,
  twoLayerNetNumericalGradient,
  twoLayerGradient,
  type Batch,
  type TrainState,
} from 'gradstream'
import {
  centralDifference,
  cosineDecay,
  gradient,
  loss,
  maxSteps,
  perturb,
  update,
  earlyStopping,
  exponentialDecay,
  forwardDifference,
  gaussian,
  oneCycle,
  reduceLrOnPlateau,
  spsa,
  stepDecay,
  warmup,
} from 'gradstream/operators'
import {
  ChunkedOptionsC,
  CosineDecayOptionsC,
  DerivativeOptionsC,
  DiffOptionsC,
  EarlyStoppingOptionsC,
  ExponentialDecayOptionsC,
  FiniteDifferenceOptionsC,
  GaussianOptionsC,
  OneCycleOptionsC,
  RandomBatchesOptionsC,
  ReduceLrOnPlateauOptionsC,
  SpsaOptionsC,
  StepDecayOptionsC,
  TrainConfigC,
  TrainMnistOptionsC,
  TwoLayerNetConfigC,
  TwoLayerGradientOptionsC,
  TwoLayerNetNumericalGradientOptionsC,
  WarmupOptionsC,
} from '../../src/state/configCodecs.js'
import { decode, decodeOptions } from '../../src/state/decode.js'

// Values a person might put in any field: good ones, edges, and wrong kinds.
const anyValue = fc.oneof(
  fc.constantFrom<unknown>(
    undefined,
    0,
    -0,
    1,
    2,
    0.5,
    0.999,
    1e-4,
    3,
    10,
    100,
    -1,
    -0.1,
    NaN,
    Infinity,
    -Infinity,
    1.5,
    2 ** 53,
    4294967295,
    4294967296,
    -2147483649,
    'x',
    '1',
    true,
    false,
    null,
    [],
    {},
    () => 0,
    of(0.1),
  ),
  fc.double({ min: -5, max: 5 }),
  fc.integer({ min: -3, max: 50 }),
)

interface Case {
  readonly fn: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly codec: Type<any, any, unknown>
  readonly build: (options: unknown) => unknown
  readonly fields: readonly string[]
  /** the options argument's name in messages (default `options`) */
  readonly argument?: string
}

const cases: Case[] = [
  {
    fn: 'centralDifference',
    codec: FiniteDifferenceOptionsC,
    build: (o) => centralDifference(o as never),
    fields: ['h'],
  },
  {
    fn: 'forwardDifference',
    codec: FiniteDifferenceOptionsC,
    build: (o) => forwardDifference(o as never),
    fields: ['h'],
  },
  {
    fn: 'spsa',
    codec: SpsaOptionsC,
    build: (o) => spsa(o as never),
    fields: ['c', 'samples', 'seed'],
  },
  {
    fn: 'gaussian',
    codec: GaussianOptionsC,
    build: (o) => gaussian(o as never),
    fields: ['sigma', 'samples', 'antithetic', 'seed'],
  },
  {
    fn: 'cosineDecay',
    codec: CosineDecayOptionsC,
    build: (o) => cosineDecay(o as never),
    fields: ['init', 'steps', 'alpha'],
  },
  {
    fn: 'exponentialDecay',
    codec: ExponentialDecayOptionsC,
    build: (o) => exponentialDecay(o as never),
    fields: ['init', 'rate', 'steps', 'staircase', 'end'],
  },
  {
    fn: 'oneCycle',
    codec: OneCycleOptionsC,
    build: (o) => oneCycle(o as never),
    fields: ['maxLr', 'steps', 'pctStart', 'divFactor', 'finalDivFactor'],
  },
  {
    fn: 'stepDecay',
    codec: StepDecayOptionsC,
    build: (o) => stepDecay(o as never),
    fields: ['init', 'factor', 'every'],
  },
  {
    fn: 'warmup',
    codec: WarmupOptionsC,
    build: (o) => warmup(o as never),
    fields: ['from', 'to', 'steps', 'then'],
  },
  {
    fn: 'reduceLrOnPlateau',
    codec: ReduceLrOnPlateauOptionsC,
    build: (o) => reduceLrOnPlateau(o as never),
    fields: ['factor', 'patience', 'minDelta', 'minScale'],
  },
  {
    fn: 'earlyStopping',
    codec: EarlyStoppingOptionsC,
    build: (o) => earlyStopping(o as never),
    fields: ['patience', 'minDelta', 'restoreBest', 'monitor'],
  },

  {
    fn: 'numericalDiff',
    codec: DiffOptionsC,
    build: (o) => numericalDiff((x) => x * x, 1, o as never),
    fields: ['h', 'method', 'nonFinite'],
    argument: 'opts',
  },
  {
    fn: 'derivative',
    codec: DerivativeOptionsC,
    // valid options can still fail to converge (h = 5e-324): only validation is compared here
    build: (o) => {
      try {
        return derivative((x) => 2 * x, 1, o as never)
      } catch (e) {
        if (/: f returned |: \(f\(x \+ h\) − f\(x − h\)\) \/ 2h is /.test((e as Error).message))
          return null
        throw e
      }
    },
    fields: ['factor', 'maxSteps', 'h', 'nonFinite'],
    argument: 'opts',
  },
  {
    fn: 'chunked',
    codec: ChunkedOptionsC,
    build: (o) => chunked(o as never),
    fields: ['steps', 'scheduler', 'delay'],
  },
  {
    fn: 'twoLayerNetNumericalGradient',
    codec: TwoLayerNetNumericalGradientOptionsC,
    build: (o) =>
      twoLayerNetNumericalGradient(
        twoLayerNet({ inputSize: 2, hiddenSize: 2, outputSize: 2 }).params,
        tensor([[1, 2]]),
        tensor([[0, 1]]),
        o as never,
      ),
    fields: ['h', 'loss'],
    argument: 'opts',
  },
  {
    fn: 'twoLayerGradient',
    codec: TwoLayerGradientOptionsC,
    build: (o) =>
      twoLayerGradient(
        twoLayerNet({ inputSize: 2, hiddenSize: 2, outputSize: 2 }).params,
        tensor([[1, 2]]),
        tensor([[0, 1]]),
        o as never,
        'twoLayerGradient',
      ),
    fields: ['loss'],
    argument: 'opts',
  },
  {
    fn: 'twoLayerNet',
    codec: TwoLayerNetConfigC,
    build: (o) => twoLayerNet(o as never),
    fields: ['inputSize', 'hiddenSize', 'outputSize', 'weightInitStd', 'seed', 'loss'],
    argument: 'config',
  },
]

const outcome = (f: () => unknown): { kind: string; message: string } | null => {
  try {
    f()
    return null
  } catch (e) {
    return { kind: (e as Error).name, message: (e as Error).message }
  }
}

group('config codecs agree with the functions they describe', () => {
  it.each(cases.map((c) => [c.fn, c] as const))(
    '%s: the codec accepts exactly what the function accepts, with its first message (property)',
    (_, c) => {
      const options = fc.record(Object.fromEntries(c.fields.map((f) => [f, anyValue])), {
        requiredKeys: [],
        noNullPrototype: true,
      })
      fc.assert(
        fc.property(options, (o) => {
          // keep twoLayerNet's weight matrices small: sizes above 50 are valid but slow
          fc.pre(
            !(
              c.fn === 'twoLayerNet' &&
              [o.inputSize, o.hiddenSize, o.outputSize].some((v) => typeof v === 'number' && v > 50)
            ),
          )
          const byFunction = outcome(() => c.build(o))
          // the functions validate with these codecs (decodeOptions), so the messages are equal
          const byCodec = outcome(() => decodeOptions(c.codec, o, c.fn, c.argument))
          expect(
            byCodec === null,
            `function: ${byFunction?.message}, codec: ${byCodec?.message}`,
          ).toBe(byFunction === null)
          if (byCodec !== null && byFunction !== null) {
            expect(byCodec.message).toBe(byFunction.message)
            expect(byCodec.kind).toBe(byFunction.kind)
          }
        }),
      )
    },
  )

  it('the functions name fields they do not know and options that are not objects', () => {
    for (const c of cases) {
      const arg = c.argument ?? 'options'
      const unknown = outcome(() => c.build({ zz: 1 }))
      expect(unknown?.message.split('\n')).toContain(
        `${c.fn}: ${arg}.zz: expected no such key (known: ${c.fields.join(', ')}), got 1`,
      )
      for (const bad of [null, 3, 'x', [1]]) {
        expect(outcome(() => c.build(bad))).toEqual({
          kind: 'TypeError',
          message: `${c.fn}: ${arg}: expected an object, got ${bad === null ? 'null' : JSON.stringify(bad)}`,
        })
      }
    }
  })

  it('plain decode names unknown keys by their path', () => {
    expect(() =>
      decode(CosineDecayOptionsC, { init: 0.1, steps: 100, alpah: 0.1 }, 'cosineDecay'),
    ).toThrow('cosineDecay: alpah: expected no such key (known: init, steps, alpha), got 0.1')
    // a key error is a TypeError whatever the key's value (0.1 is a number, but not out of range)
    expect(() => decode(SpsaOptionsC, { C: 0.1 }, 'spsa')).toThrow(
      new TypeError('spsa: C: expected no such key (known: c, samples, seed), got 0.1'),
    )
  })
})

group('TrainMnistOptionsC (the CLI flags as a config file)', () => {
  it('accepts the book defaults and names every bad flag', async () => {
    const { BOOK_DEFAULTS } = await import('../../src/cli/trainMnist.js')
    const { OPTIMIZERS } = await import('../../src/cli/optimizers.js')
    expect(decode(TrainMnistOptionsC, BOOK_DEFAULTS, 'train mnist')).toEqual(BOOK_DEFAULTS)
    // the codec lists exactly the CLI's optimizers
    for (const name of Object.keys(OPTIMIZERS)) {
      expect(() =>
        decode(TrainMnistOptionsC, { ...BOOK_DEFAULTS, optimizer: name }, 'train mnist'),
      ).not.toThrow()
    }
    expect(() =>
      decode(
        TrainMnistOptionsC,
        { ...BOOK_DEFAULTS, lr: 0, optimizer: 'sgdd', hiden: 5 },
        'train mnist',
      ),
    ).toThrow(
      [
        'train mnist: lr: expected a positive finite number, got 0',
        'train mnist: optimizer: expected one of "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lion", "sam-sgd", "schedule-free-sgd", "schedule-free-adamw", got "sgdd"',
        'train mnist: hiden: expected no such key (known: hidden, batch, lr, iters, epochs, optimizer, seed, sampler, evalEvery, trainSize, testSize, dataDir, init, activation, layers, rho, b1, warmup, accumulate), got 5',
      ].join('\n'),
    )
  })
})

group('validation happens when a run is built, never per step', () => {
  it('a 60-step run with randomBatches, spsa, cosineDecay and earlyStopping decodes each config once', () => {
    const codecs = [
      TrainConfigC,
      SpsaOptionsC,
      CosineDecayOptionsC,
      EarlyStoppingOptionsC,
      RandomBatchesOptionsC,
    ]
    const spies = codecs.map((c) => vi.spyOn(c, 'decode'))
    try {
      const data = { x: tensor([[1], [2], [3], [4]]), t: tensor([[2], [4], [6], [8]]) }
      const states: TrainState[] = []
      train({
        params: [0],
        data: randomBatches(data, { batchSize: 2, seed: 1 }),
        step: pipe(
          perturb(spsa({ c: 1e-3, seed: 2 })),
          loss((p: number[], b: Batch) => (p[0] * b.x.data[0] - b.t.data[0]) ** 2),
          gradient(),
          update(cosineDecay({ init: 0.01, steps: 100 })),
        ),
      })
        .pipe(earlyStopping({ patience: 1000 }), maxSteps(60))
        .subscribe((st) => states.push(st))
      expect(states.at(-1)?.step).toBe(60)
      // one decode per config, at build time: none per step
      expect(spies.map((sp) => sp.mock.calls.length)).toEqual([1, 1, 1, 1, 1])
    } finally {
      for (const sp of spies) sp.mockRestore()
    }
  })
})
