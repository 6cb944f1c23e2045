import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe as group, expect, it } from 'vitest'
import {
  ShapeError,
  add,
  checkpoint,
  decodeWireLine,
  crossEntropyError,
  decode,
  epochBatches,
  fromData,
  matmul,
  numericalDiff,
  numericalGradient,
  oneHot,
  parseIdx,
  partialDerivative,
  randomBatches,
  reshape,
  restore,
  rng,
  softmax,
  tensor,
  twoLayerNet,
  mlp,
  unflatten,
  zeros,
  zipTree,
  ParamsC,
  TrainStateC,
  chunked,
  resume,
  train,
} from 'gradstream'
import { loadMnist, readIdx } from 'gradstream/node'
import {
  centralDifference,
  checkpointEvery,
  cosineDecay,
  earlyStopping,
  evaluateEvery,
  forwardDifference,
  gaussian,
  oneCycle,
  loss,
  lossBelow,
  maxSteps,
  perturb,
  piecewise,
  reduceLrOnPlateau,
  scaleByAdam,
  scaleByLearningRate,
  spsa,
  stepDecay,
  timeLimit,
  warmup,
} from 'gradstream/operators'
import { main } from '../../src/cli/main.js'

/**
 * The catalogue of bad inputs: every row is an input a person could plausibly give gradstream,
 * and the exact message they get back. A row failing means a message changed: update the row
 * only if the new message is at least as clear (names the function, the field, what was
 * expected and what was given).
 */
interface Row {
  /** what the user did */
  readonly input: string
  readonly run: () => unknown
  readonly kind: new (...args: never[]) => Error
  readonly message: string
}

const dir = mkdtempSync(join(tmpdir(), 'gradstream-catalogue-'))
const file = (name: string, bytes: Uint8Array | string): string => {
  const p = join(dir, name)
  writeFileSync(p, bytes)
  return p
}
// IDX: 00 00 08 01 = ubyte, rank 1; then the length as a big-endian uint32, then the bytes
const labels3 = Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3)
// hostile files (issue 20): a symlink to /dev/zero, a FIFO, and a gzip bomb whose IDX header
// declares 3 labels in front of 1 GiB of zeros (64 gzip members of 16 MiB, read as one stream)
const zeroLink = join(dir, 'zero.idx')
symlinkSync('/dev/zero', zeroLink)
const fifo =
  spawnSync('mkfifo', [join(dir, 'fifo.idx')]).status === 0 ? join(dir, 'fifo.idx') : null
const zeros16M = gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9 })
const bomb = file(
  'bomb.idx.gz',
  Buffer.concat([gzipSync(labels3.subarray(0, 8)), ...Array.from({ length: 64 }, () => zeros16M)]),
)
const bombDir = mkdtempSync(join(tmpdir(), 'gradstream-catalogue-bomb-'))
writeFileSync(join(bombDir, 'train-images-idx3-ubyte'), readFileSync(bomb))
const goodState = {
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
}
const good = checkpoint(goodState)
const data = { x: zeros([4, 2]), t: zeros([4, 3]) }
const noop = () => {}

const rows: Row[] = [
  // ---- tensors and shapes
  {
    input: 'tensor([[1, 2, 3], [4, 5]])',
    run: () =>
      tensor([
        [1, 2, 3],
        [4, 5],
      ]),
    kind: ShapeError,
    message: 'tensor: ragged nested array: at [1] expected length 3, got 2',
  },
  {
    input: "tensor([[1, 'a']])",
    run: () => tensor([[1, 'a' as never]]),
    kind: TypeError,
    message: 'tensor: at [0,1]: expected a number, got "a"',
  },
  {
    input: 'fromData([2, 2], Float64Array(3))',
    run: () => fromData([2, 2], new Float64Array(3)),
    kind: ShapeError,
    message: 'fromData: shape [2,2] holds 4 values, got 3',
  },
  {
    input: 'fromData([2, -1], …)',
    run: () => fromData([2, -1], new Float64Array(0)),
    kind: RangeError,
    message: 'fromData: shape[1]: expected a non-negative integer, got -1 in [2,-1]',
  },
  {
    input: 'matmul([2,3], [4,1])',
    run: () => matmul(zeros([2, 3]), zeros([4, 1])),
    kind: ShapeError,
    message: 'matmul: shapes [2,3] and [4,1] do not align',
  },
  {
    input: 'add([2,3], [2])',
    run: () => add(zeros([2, 3]), zeros([2])),
    kind: ShapeError,
    message: 'add: shapes [2,3] and [2] do not broadcast',
  },
  {
    input: 'reshape([4] → [3,-1])',
    run: () => reshape(zeros([4]), [3, -1]),
    kind: ShapeError,
    message: 'reshape: cannot reshape [4] into [3,-1]',
  },
  {
    input: 'softmax(scalar tensor)',
    run: () => softmax(tensor(1)),
    kind: ShapeError,
    message: 'softmax: x: expected rank ≥ 1, got shape []',
  },
  {
    input: 'crossEntropyError with one-hot t of the wrong width',
    run: () => crossEntropyError(zeros([2, 3]), zeros([2, 4])),
    kind: ShapeError,
    message:
      'crossEntropyError: t: expected shape [2,3] (one-hot) or [2] (labels) to match y [2,3], got [2,4]',
  },
  {
    input: 'crossEntropyError with label 3 of 3 classes',
    run: () => crossEntropyError(zeros([2, 3]), tensor([0, 3])),
    kind: RangeError,
    message: 'crossEntropyError: t[1]: expected an integer label in [0, 2], got 3',
  },
  // ---- parameter trees
  {
    input: 'zipTree of [2,3] and [3,2] tensors',
    run: () => zipTree({ W: zeros([2, 3]) }, { W: zeros([3, 2]) }, (a, b) => a + b),
    kind: ShapeError,
    message: 'zipTree: at W: shapes [2,3] and [3,2] differ',
  },
  {
    input: 'unflatten with too few values',
    run: () => unflatten({ W: zeros([2]), b: 0 }, new Float64Array(2)),
    kind: ShapeError,
    message: 'unflatten: template holds 3 values, got 2',
  },
  {
    input: 'params with a string leaf',
    run: () => decode(ParamsC, { W: 'x' }, 'train', 'params'),
    kind: TypeError,
    message: 'train: params.W: expected a number, a tensor, an array or a record, got "x"',
  },
  {
    input: 'params tensor with 5 values for shape [2,3]',
    run: () =>
      decode(ParamsC, { W: { shape: [2, 3], data: new Float64Array(5) } }, 'train', 'params'),
    kind: TypeError,
    message: 'train: params.W.data: expected 6 values for shape [2,3], got 5',
  },
  // ---- numerical differentiation
  {
    input: 'numericalDiff(f, Infinity)',
    run: () => numericalDiff((x) => x, Infinity),
    kind: RangeError,
    message: 'numericalDiff: x: expected a finite number, got Infinity',
  },
  {
    input: 'numericalDiff(f, 1, { h: 0 })',
    run: () => numericalDiff((x) => x, 1, { h: 0 }),
    kind: RangeError,
    message: 'numericalDiff: h: expected a positive finite number, got 0',
  },
  {
    input: 'numericalDiff of a function returning NaN',
    run: () => numericalDiff(() => NaN, 1),
    kind: RangeError,
    message: 'numericalDiff: f returned NaN at x + h',
  },
  {
    input: 'numericalGradient at a NaN parameter',
    run: () => numericalGradient((p) => (p as number[])[0], [NaN]),
    kind: RangeError,
    message: 'numericalGradient: p[0]: expected a finite number, got NaN',
  },
  {
    input: 'partialDerivative coordinate out of range',
    run: () => partialDerivative((p: number[]) => p[0], [1, 2], 2),
    kind: RangeError,
    message: 'partialDerivative: coordinate: expected an integer in [0, 1], got 2',
  },
  // ---- models
  {
    input: 'twoLayerNet({ hiddenSize: 0 })',
    run: () => twoLayerNet({ inputSize: 2, hiddenSize: 0, outputSize: 2 }),
    kind: RangeError,
    message: 'twoLayerNet: hiddenSize: expected a positive integer, got 0',
  },
  {
    input: 'twoLayerNet({ weightInitStd: -1 })',
    run: () => twoLayerNet({ inputSize: 2, hiddenSize: 2, outputSize: 2, weightInitStd: -1 }),
    kind: RangeError,
    message: 'twoLayerNet: weightInitStd: expected a positive finite number, got -1',
  },
  {
    input: 'rng(0.5)',
    run: () => rng(0.5),
    kind: RangeError,
    message: 'rng: seed: expected an integer in [-2147483648, 4294967295], got 0.5',
  },
  // ---- data
  {
    input: 'oneHot([0, 3], 3)',
    run: () => oneHot([0, 3], 3),
    kind: RangeError,
    message: 'oneHot: labels[1]: expected an integer in [0, 2], got 3',
  },
  {
    input: 'randomBatches(batchSize 0)',
    run: () => randomBatches(data, { batchSize: 0, seed: 1 }),
    kind: RangeError,
    message: 'randomBatches: batchSize: expected a positive integer, got 0',
  },
  {
    input: 'randomBatches with 3 target rows for 4 inputs',
    run: () => randomBatches({ x: zeros([4, 2]), t: zeros([3, 3]) }, { batchSize: 2, seed: 1 }),
    kind: ShapeError,
    message: 'randomBatches: data.t: expected 4 rows (as data.x [4,2]), got shape [3,3]',
  },
  {
    input: 'epochBatches(batchSize 1.5)',
    run: () => epochBatches(data, { batchSize: 1.5, seed: 1 }),
    kind: RangeError,
    message: 'epochBatches: batchSize: expected a positive integer, got 1.5',
  },
  {
    input: 'readIdx of a missing file',
    run: () => readIdx(join(dir, 'missing')),
    kind: Error,
    message: `readIdx: ${join(dir, 'missing')}: file: expected a readable IDX file, got ENOENT`,
  },
  {
    input: 'readIdx of a PNG',
    run: () => readIdx(file('image.png', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0))),
    kind: RangeError,
    message: `readIdx: ${join(dir, 'image.png')}: magic number: expected 0x0000 followed by a type code (0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e) and a rank, got 0x89504e47`,
  },
  {
    input: 'readIdx of a truncated label file',
    run: () => readIdx(file('short.idx', labels3.subarray(0, 10))),
    kind: RangeError,
    message: `readIdx: ${join(dir, 'short.idx')}: length: expected 8 + 3 = 11 bytes for ubyte dimensions [3], got 10 (truncated)`,
  },
  {
    input: 'readIdx of labels where images were expected',
    run: () => readIdx(file('labels.idx', labels3), { rank: 3 }),
    kind: RangeError,
    message: `readIdx: ${join(dir, 'labels.idx')}: magic number: expected 0x00000803 (ubyte, rank 3), got 0x00000801 (ubyte, rank 1)`,
  },
  {
    input: 'readIdx of a corrupt .gz',
    run: () => readIdx(file('bad.gz', gzipSync(labels3).subarray(0, 15))),
    kind: RangeError,
    message: `readIdx: ${join(dir, 'bad.gz')}: gzip: expected a complete gzip stream, got unexpected end of file`,
  },
  // issue 20: files that are not what they claim
  {
    input: 'readIdx of a symlink to /dev/zero',
    run: () => readIdx(zeroLink),
    kind: TypeError,
    message: `readIdx: ${zeroLink}: file: expected a regular file, got a character device`,
  },
  ...(fifo !== null
    ? [
        {
          input: 'readIdx of a FIFO nobody writes to',
          run: () => readIdx(fifo),
          kind: TypeError,
          message: `readIdx: ${fifo}: file: expected a regular file, got a FIFO (named pipe)`,
        },
      ]
    : []),
  {
    input: 'readIdx of a gzip bomb (1 GiB of zeros behind a 3-label header)',
    run: () => readIdx(bomb),
    kind: RangeError,
    message: `readIdx: ${bomb}: gzip: expected at most 11 bytes once inflated (the size its IDX header declares), got more`,
  },
  {
    input: 'restore of a checkpoint whose loss is 1e400',
    run: () => restore(good.replace('"loss":0.5', '"loss":1e400')),
    kind: TypeError,
    message:
      'restore: state.loss: expected a number within the double range (±Infinity is written tagged), got Infinity',
  },
  {
    input: 'decodeWireLine of a frame whose lr is -1e400',
    run: () =>
      decodeWireLine(
        '{"v":1,"step":1,"loss":1,"lr":-1e400,"gradNorm":1,"evaluations":1,"metrics":{},"hyper":{}}',
      ),
    kind: TypeError,
    message:
      'decodeWireLine: lr: expected a number within the double range (±Infinity is written tagged), got -Infinity',
  },
  {
    input: 'parseIdx of 2 bytes',
    run: () => parseIdx(Uint8Array.of(0, 0), 'x.idx'),
    kind: RangeError,
    message: 'parseIdx: x.idx: header: expected at least 4 bytes, got 2 bytes',
  },
  // ---- checkpoints (files)
  {
    input: 'restore of a checkpoint cut at byte 40',
    run: () => restore(good.slice(0, 40)),
    kind: TypeError,
    message: `restore: json: expected a complete JSON checkpoint, got invalid JSON (${jsonError(good.slice(0, 40))})`,
  },
  {
    input: 'restore of an empty file',
    run: () => restore(''),
    kind: TypeError,
    message:
      'restore: json: expected a complete JSON checkpoint, got invalid JSON (Unexpected end of JSON input)',
  },
  {
    input: 'restore of a checkpoint from a future version',
    run: () => restore(good.replace('"version":1', '"version":2')),
    kind: RangeError,
    message: 'restore: version: expected 1, got 2',
  },
  {
    input: 'restore of some other JSON file',
    run: () => restore('{"name":"gradstream","version":"0.1.0"}'),
    kind: TypeError,
    message: 'restore: format: expected "gradstream-checkpoint", got undefined',
  },
  {
    input: 'restore with a __proto__ key',
    run: () => restore(good.replace('"opt":{}', '"opt":{"__proto__":{"admin":true}}')),
    kind: TypeError,
    message:
      'restore: state.opt.__proto__: expected a key other than __proto__, constructor or prototype, got "__proto__"',
  },
  {
    input: 'restore with a negative step',
    run: () => restore(good.replace('"step":1', '"step":-1')),
    kind: RangeError,
    message: 'restore: state.step: expected a non-negative integer, got -1',
  },
  {
    input: 'restore with a hand-edited NaN',
    run: () => restore(good.replace('"loss":0.5', '"loss":"NaN"')),
    kind: TypeError,
    message: 'restore: state.loss: expected a number, got "NaN"',
  },
  {
    input: 'restore with a gradient of another shape',
    run: () => restore(good.replace('"grad":{"w":2}', '"grad":[2]')),
    kind: TypeError,
    message:
      'restore: state.grad: expected the structure of params, got an array at (root) where params has a record',
  },
  {
    input: 'restore with an all-zero generator',
    run: () => restore(good.replace(/"words":\[[^\]]*\]/, '"words":[0,0,0,0]')),
    kind: TypeError,
    message: 'restore: state.rng.words: expected four 32-bit integers, not all zero, got [0,0,0,0]',
  },
  {
    input: 'checkpoint of a state holding a function',
    run: () => checkpoint({ ...goodState, opt: { f: noop } }),
    kind: TypeError,
    message: 'checkpoint: state.opt.f: expected plain data, got a function',
  },
  {
    input: 'TrainState missing its generator',
    run: () => decode(TrainStateC, { ...goodState, rng: undefined }, 'resume', 'state'),
    kind: TypeError,
    message: 'resume: state.rng: expected a random generator state {words, spare}, got undefined',
  },
  {
    input: 'a wire line that is not JSON',
    run: () => decodeWireLine('{"v":1,'),
    kind: TypeError,
    message: wireMessage('{"v":1,'),
  },
  // ---- operator configs
  {
    input: 'checkpointEvery({ steps: 0 })',
    run: () => checkpointEvery({ steps: 0 }, noop),
    kind: RangeError,
    message: 'checkpointEvery: every.steps: expected a positive integer, got 0',
  },
  {
    input: 'checkpointEvery({ ms: NaN })',
    run: () => checkpointEvery({ ms: NaN }, noop),
    kind: RangeError,
    message: 'checkpointEvery: every.ms: expected a positive finite number, got NaN',
  },
  {
    input: 'checkpointEvery({ stpes: 10 })',
    run: () => checkpointEvery({ stpes: 10 } as never, noop),
    kind: TypeError,
    message: 'checkpointEvery: every: expected { steps } or { ms }, got an object',
  },
  {
    input: 'evaluateEvery({ steps: 0 })',
    run: () => evaluateEvery({ steps: 0 }, () => ({})),
    kind: RangeError,
    message: 'evaluateEvery: every.steps: expected a positive integer, got 0',
  },
  {
    input: 'scaleByLearningRate(-0.1)',
    run: () => scaleByLearningRate(-0.1),
    kind: RangeError,
    message: 'scaleByLearningRate: lr: expected a positive finite number, got -0.1',
  },
  {
    input: "scaleByLearningRate('x')",
    run: () => scaleByLearningRate('x' as never),
    kind: TypeError,
    message:
      'scaleByLearningRate: lr: expected a number, a schedule (step) => number or an Observable<number>, got "x"',
  },
  // ---- perturbation designs, schedules, stopping rules
  {
    input: 'spsa({ c: 0 })',
    run: () => spsa({ c: 0 }),
    kind: RangeError,
    message: 'spsa: c: expected a positive finite number, got 0',
  },
  {
    input: 'gaussian({ samples: 0 })',
    run: () => gaussian({ samples: 0 }),
    kind: RangeError,
    message: 'gaussian: samples: expected a positive integer, got 0',
  },
  {
    input: 'centralDifference({ h: -1 })',
    run: () => centralDifference({ h: -1 }),
    kind: RangeError,
    message: 'centralDifference: h: expected a positive finite number, got -1',
  },
  {
    input: "perturb('central')",
    run: () => perturb('central' as never),
    kind: TypeError,
    message:
      'perturb: design: expected a perturbation design such as centralDifference(), got "central"',
  },
  {
    input: 'loss() without an objective',
    run: () => loss(undefined as never),
    kind: TypeError,
    message: 'loss: objective: expected a function, got undefined',
  },
  {
    input: 'cosineDecay({ steps: 0 })',
    run: () => cosineDecay({ init: 0.1, steps: 0 }),
    kind: RangeError,
    message: 'cosineDecay: steps: expected a positive integer, got 0',
  },
  {
    input: 'cosineDecay({ alpha: 2 })',
    run: () => cosineDecay({ init: 0.1, steps: 10, alpha: 2 }),
    kind: RangeError,
    message: 'cosineDecay: alpha: expected a number in [0, 1], got 2',
  },
  {
    input: 'warmup without to',
    run: () => warmup({ steps: 10 } as never),
    kind: TypeError,
    message: 'warmup: to: expected a finite number, got undefined',
  },
  {
    input: 'piecewise with as many values as boundaries',
    run: () => piecewise({ boundaries: [10, 20], values: [1, 2] }),
    kind: RangeError,
    message: 'piecewise: values: expected 3 values (one more than boundaries), got 2',
  },
  {
    input: 'piecewise with decreasing boundaries',
    run: () => piecewise({ boundaries: [10, 5], values: [1, 2, 3] }),
    kind: RangeError,
    message: 'piecewise: boundaries[1]: expected an integer ≥ 11, got 5',
  },
  {
    input: 'stepDecay({ every: 0 })',
    run: () => stepDecay({ init: 0.1, factor: 0.5, every: 0 }),
    kind: RangeError,
    message: 'stepDecay: every: expected a positive integer, got 0',
  },
  {
    input: 'reduceLrOnPlateau({ factor: 1 })',
    run: () => reduceLrOnPlateau({ factor: 1 }),
    kind: RangeError,
    message: 'reduceLrOnPlateau: factor: expected a number in [0, 1), got 1',
  },
  {
    input: 'earlyStopping({ patience: 0 })',
    run: () => earlyStopping({ patience: 0 }),
    kind: RangeError,
    message: 'earlyStopping: patience: expected a positive integer, got 0',
  },
  {
    input: 'maxSteps(-1)',
    run: () => maxSteps(-1),
    kind: RangeError,
    message: 'maxSteps: n: expected a non-negative integer, got -1',
  },
  {
    input: 'lossBelow(NaN)',
    run: () => lossBelow(NaN),
    kind: RangeError,
    message: 'lossBelow: threshold: expected a finite number, got NaN',
  },
  {
    input: 'timeLimit(-1)',
    run: () => timeLimit(-1),
    kind: RangeError,
    message: 'timeLimit: ms: expected a non-negative finite number, got -1',
  },
  // ---- the loop
  {
    input: "train({ params: { W: 'x' } })",
    run: () => train({ params: { W: 'x' } as never, step: noop as never }),
    kind: TypeError,
    message: 'train: params.W: expected a number, a tensor, an array or a record, got "x"',
  },
  {
    input: 'train without a step',
    run: () => train({ params: 1 } as never),
    kind: TypeError,
    message: 'train: step: expected a function, got undefined',
  },
  {
    input: 'train({ seed: 1.5 })',
    run: () => train({ params: 1, step: noop as never, seed: 1.5 }),
    kind: RangeError,
    message: 'train: seed: expected an integer in [-2147483648, 4294967295], got 1.5',
  },
  {
    input: 'train({ data: 5 })',
    run: () => train({ params: 1, step: noop as never, data: 5 as never }),
    kind: TypeError,
    message:
      'train: data: expected an iterable, an async iterable or an Observable of batches, got 5',
  },
  {
    input: 'train({ from: a state with a negative step })',
    run: () => train({ params: 1, step: noop as never, from: { ...goodState, step: -1 } as never }),
    kind: RangeError,
    message: 'train: from.step: expected a non-negative integer, got -1',
  },
  {
    input: 'chunked({ steps: 0 })',
    run: () => chunked({ steps: 0 }),
    kind: RangeError,
    message: 'chunked: steps: expected a positive integer, got 0',
  },
  {
    input: 'resume(checkpoint, {}) without a step',
    run: () => resume(good, {} as never),
    kind: TypeError,
    message: 'resume: step: expected a function, got undefined',
  },
  {
    input: 'resume of a checkpoint cut in half',
    run: () => resume(good.slice(0, good.length >> 1), { step: noop as never }),
    kind: TypeError,
    message: `resume: json: expected a complete JSON checkpoint, got invalid JSON (${jsonError(good.slice(0, good.length >> 1))})`,
  },
  {
    input: 'twoLayerNet({ seed: 0.5 })',
    run: () => twoLayerNet({ inputSize: 2, hiddenSize: 2, outputSize: 2, seed: 0.5 }),
    kind: RangeError,
    message: 'twoLayerNet: seed: expected an integer in [-2147483648, 4294967295], got 0.5',
  },
  {
    input: "twoLayerNet({ loss: 'mse' })",
    run: () => twoLayerNet({ inputSize: 2, hiddenSize: 2, outputSize: 2, loss: 'mse' as never }),
    kind: RangeError,
    message: 'twoLayerNet: loss: expected "crossEntropy" or "softmaxCrossEntropy", got "mse"',
  },
  {
    input: 'a wire frame of version 2',
    run: () => decodeWireLine('{"v":2,"step":1}'),
    kind: TypeError,
    message: 'decodeWireLine: v: expected 1, got 2',
  },
  // ---- options objects: unknown keys and non-objects (decodeOptions with the config codecs;
  // the transforms' checkOptions words them the same)
  {
    input: 'spsa({ C: 0.1 }) (c misspelt)',
    run: () => spsa({ C: 0.1 } as never),
    kind: TypeError,
    message: 'spsa: options.C: expected no such key (known: c, samples, seed), got 0.1',
  },
  {
    input: 'spsa(null)',
    run: () => spsa(null as never),
    kind: TypeError,
    message: 'spsa: options: expected an object, got null',
  },
  {
    input: 'gaussian(null)',
    run: () => gaussian(null as never),
    kind: TypeError,
    message: 'gaussian: options: expected an object, got null',
  },
  {
    input: 'centralDifference(null)',
    run: () => centralDifference(null as never),
    kind: TypeError,
    message: 'centralDifference: options: expected an object, got null',
  },
  {
    input: 'forwardDifference({ H: 1e-5 }) (h misspelt)',
    run: () => forwardDifference({ H: 1e-5 } as never),
    kind: TypeError,
    message: 'forwardDifference: options.H: expected no such key (known: h), got 0.00001',
  },
  {
    input: 'cosineDecay({ init, steps, alpah })',
    run: () => cosineDecay({ init: 0.1, steps: 100, alpah: 0.1 } as never),
    kind: TypeError,
    message:
      'cosineDecay: options.alpah: expected no such key (known: init, steps, alpha), got 0.1',
  },
  {
    input: 'warmup(null)',
    run: () => warmup(null as never),
    kind: TypeError,
    message: 'warmup: options: expected an object, got null',
  },
  {
    input: 'oneCycle({ maxlr: 0.1, steps: 100 }) (maxLr misspelt: two problems)',
    run: () => oneCycle({ maxlr: 0.1, steps: 100 } as never),
    kind: TypeError,
    message:
      'oneCycle: maxLr: expected a positive finite number, got undefined\noneCycle: options.maxlr: expected no such key (known: maxLr, steps, pctStart, divFactor, finalDivFactor), got 0.1',
  },
  {
    input: 'stepDecay({ …, staircase: true }) (an exponentialDecay option)',
    run: () => stepDecay({ init: 0.1, factor: 0.5, every: 10, staircase: true } as never),
    kind: TypeError,
    message:
      'stepDecay: options.staircase: expected no such key (known: init, factor, every), got true',
  },
  {
    input: 'piecewise({ boundaries, values, default: 0 })',
    run: () => piecewise({ boundaries: [10], values: [1, 0.1], default: 0 } as never),
    kind: TypeError,
    message: 'piecewise: options.default: expected no such key (known: boundaries, values), got 0',
  },
  {
    input: 'reduceLrOnPlateau({ patiance: 5 })',
    run: () => reduceLrOnPlateau({ patiance: 5 } as never),
    kind: TypeError,
    message:
      'reduceLrOnPlateau: options.patiance: expected no such key (known: factor, patience, minDelta, minScale), got 5',
  },
  {
    input: 'earlyStopping(null)',
    run: () => earlyStopping(null as never),
    kind: TypeError,
    message: 'earlyStopping: options: expected an object, got null',
  },
  {
    input: 'earlyStopping({ patience: 5, mindelta: 0.01 })',
    run: () => earlyStopping({ patience: 5, mindelta: 0.01 } as never),
    kind: TypeError,
    message:
      'earlyStopping: options.mindelta: expected no such key (known: patience, minDelta, restoreBest, monitor), got 0.01',
  },
  {
    input: 'train({ params, step, sed: 1 })',
    run: () => train({ params: { w: 1 }, step: noop as never, sed: 1 } as never),
    kind: TypeError,
    message:
      'train: config.sed: expected no such key (known: params, from, step, seed, data, mode), got 1',
  },
  {
    input: 'train(null)',
    run: () => train(null as never),
    kind: TypeError,
    message: 'train: config: expected an object, got null',
  },
  {
    input: 'randomBatches(data, { batch: 2, seed: 1 }) (batchSize misspelt: two problems)',
    run: () => randomBatches(data, { batch: 2, seed: 1 } as never),
    kind: TypeError,
    message:
      'randomBatches: batchSize: expected a positive integer, got undefined\nrandomBatches: options.batch: expected no such key (known: batchSize, seed, from), got 2',
  },
  {
    input: 'epochBatches(data, null)',
    run: () => epochBatches(data, null as never),
    kind: TypeError,
    message: 'epochBatches: options: expected an object, got null',
  },
  {
    input: 'twoLayerNet({ …, weightInitStdev: 0.1 })',
    run: () =>
      twoLayerNet({ inputSize: 2, hiddenSize: 2, outputSize: 2, weightInitStdev: 0.1 } as never),
    kind: TypeError,
    message:
      'twoLayerNet: config.weightInitStdev: expected no such key (known: inputSize, hiddenSize, outputSize, weightInitStd, seed, loss), got 0.1',
  },
  {
    input: "mlp({ sizes, activations: 'tanh' })",
    run: () => mlp({ sizes: [2, 2], activations: 'tanh' } as never),
    kind: TypeError,
    message:
      'mlp: config.activations: expected no such key (known: sizes, activation, init, seed), got "tanh"',
  },
  {
    input: 'mlp(null)',
    run: () => mlp(null as never),
    kind: TypeError,
    message: 'mlp: config: expected an object, got null',
  },
  {
    input: 'mlp({ sizes, seed: -1.5 })',
    run: () => mlp({ sizes: [2, 2], seed: -1.5 }),
    kind: RangeError,
    message: 'mlp: seed: expected an integer in [-2147483648, 4294967295], got -1.5',
  },
  {
    input: 'scaleByAdam({ beta1: 0.9 }) (checkOptions: the same wording)',
    run: () => scaleByAdam({ beta1: 0.9 } as never),
    kind: TypeError,
    message:
      'scaleByAdam: options.beta1: expected no such key (known: b1, b2, eps, efficient, name), got 0.9',
  },
  {
    input: 'chunked({ step: 5 }) (steps misspelt)',
    run: () => chunked({ step: 5 } as never),
    kind: TypeError,
    message: 'chunked: options.step: expected no such key (known: steps, scheduler, delay), got 5',
  },
  {
    input: 'chunked(null)',
    run: () => chunked(null as never),
    kind: TypeError,
    message: 'chunked: options: expected an object, got null',
  },
  {
    input: 'loadMnist({ normalise: true }) (British spelling)',
    run: () => loadMnist({ normalise: true } as never),
    kind: TypeError,
    message:
      'loadMnist: options.normalise: expected no such key (known: normalize, flatten, oneHotLabel, dir, trainSize, testSize), got true',
  },
  {
    input: 'loadMnist(null)',
    run: () => loadMnist(null as never),
    kind: TypeError,
    message: 'loadMnist: options: expected an object, got null',
  },
  {
    input: "loadMnist({ flatten: 'yes' })",
    run: () => loadMnist({ flatten: 'yes' } as never),
    kind: TypeError,
    message: 'loadMnist: flatten: expected a boolean, got "yes"',
  },
  {
    input: 'evaluateEvery({ steps: 5, finall: true }, fn)',
    run: () => evaluateEvery({ steps: 5, finall: true } as never, () => ({})),
    kind: TypeError,
    message: 'evaluateEvery: every.finall: expected no such key (known: steps, final), got true',
  },
  {
    input: 'evaluateEvery({ step: 5 }, fn) (steps misspelt: read as the epochs form)',
    run: () => evaluateEvery({ step: 5 } as never, () => ({})),
    kind: TypeError,
    message:
      'evaluateEvery: every.epochs: expected a positive finite number, got undefined\nevaluateEvery: every.stepsPerEpoch: expected a positive integer, got undefined\nevaluateEvery: every.step: expected no such key (known: epochs, stepsPerEpoch, final), got 5',
  },
  {
    input: 'numericalGradient(f, x, { step: 1e-5 }) (h misspelt)',
    run: () => numericalGradient(() => 0, { w: 1 }, { step: 1e-5 } as never),
    kind: TypeError,
    message:
      'numericalGradient: opts.step: expected no such key (known: h, method, nonFinite), got 0.00001',
  },
  {
    input: 'numericalDiff(f, 1, null)',
    run: () => numericalDiff((x) => x, 1, null as never),
    kind: TypeError,
    message: 'numericalDiff: opts: expected an object, got null',
  },
]

/** `gradstream train mnist …` with bad flags: exit code 1 and exactly this on stderr. */
const cliRows: { readonly args: readonly string[]; readonly stderr: string }[] = [
  {
    args: ['--lr', '-1'],
    stderr: `error: option '--lr <x>' argument '-1' is invalid. --lr: expected a positive number, got "-1"`,
  },
  {
    args: ['--lr', 'abc'],
    stderr: `error: option '--lr <x>' argument 'abc' is invalid. --lr: expected a positive number, got "abc"`,
  },
  {
    args: ['--hidden', '0'],
    stderr: `error: option '--hidden <n>' argument '0' is invalid. --hidden: expected an integer in [1, 10000], got "0"`,
  },
  {
    args: ['--batch', '1.5'],
    stderr: `error: option '--batch <n>' argument '1.5' is invalid. --batch: expected a positive integer, got "1.5"`,
  },
  {
    args: ['--iters', '-3'],
    stderr: `error: option '--iters <n>' argument '-3' is invalid. --iters: expected a positive integer, got "-3"`,
  },
  {
    args: ['--seed', 'x'],
    stderr: `error: option '--seed <n>' argument 'x' is invalid. --seed: expected a non-negative integer, got "x"`,
  },
  {
    args: ['--optimizer', 'sgdd'],
    stderr: `error: option '--optimizer <name>' argument 'sgdd' is invalid. Allowed choices are sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, lion, sam-sgd, schedule-free-sgd, schedule-free-adamw.`,
  },
  {
    args: ['--rho', 'abc'],
    stderr: `error: option '--rho <x>' argument 'abc' is invalid. --rho: expected a positive number, got "abc"`,
  },
  {
    args: ['--b1', '1.5'],
    stderr: `error: option '--b1 <x>' argument '1.5' is invalid. --b1: expected a number in (0, 1], got "1.5"`,
  },
  {
    args: ['--warmup', '0'],
    stderr: `error: option '--warmup <n>' argument '0' is invalid. --warmup: expected a positive integer, got "0"`,
  },
  {
    args: ['--accumulate', '2.5'],
    stderr: `error: option '--accumulate <k>' argument '2.5' is invalid. --accumulate: expected a positive integer, got "2.5"`,
  },
  {
    args: ['--sampler', 'shuffle'],
    stderr: `error: option '--sampler <kind>' argument 'shuffle' is invalid. Allowed choices are random, epoch.`,
  },
  {
    args: ['--serve', 'http'],
    stderr: `error: option '--serve <port>' argument 'http' is invalid. serve: port: expected an integer in [0, 65535], got "http"`,
  },
  {
    args: ['--epochs', '2', '--iters', '5'],
    stderr: `error: option '--epochs <n>' cannot be used with option '--iters <n>'`,
  },
  {
    args: ['--eval-every', '0'],
    stderr: `error: option '--eval-every <n>' argument '0' is invalid. --eval-every: expected a positive integer, got "0"`,
  },
  { args: ['--bogus'], stderr: `error: unknown option '--bogus'` },
  {
    args: ['--resume', '/dev/zero'],
    stderr: '--resume /dev/zero: file: expected a regular file, got a character device',
  },
  {
    args: ['--data-dir', bombDir],
    stderr: `readIdx: ${join(bombDir, 'train-images-idx3-ubyte')}: gzip: expected at most 11 bytes once inflated (the size its IDX header declares), got more`,
  },
  {
    args: ['--token', 'short'],
    stderr: `error: option '--token <token>' argument 'short' is invalid. --token: expected at least 16 printable characters without spaces, got 5 characters`,
  },
  {
    args: ['--serve', '0', '--cors', 'localhost:5173', '--train-size', '100', '--test-size', '10'],
    stderr:
      '--serve: serveStates: cors: expected origins such as "http://127.0.0.1:5173" or "*", got "localhost:5173"',
  },
  {
    args: ['--resume', join(dir, 'nope.json')],
    stderr: `--resume ${join(dir, 'nope.json')}: file: expected a readable checkpoint file, got ENOENT`,
  },
  {
    args: ['--resume', file('cut.json', good.slice(0, 99))],
    stderr: `--resume ${join(dir, 'cut.json')}: json: expected a complete JSON checkpoint, got invalid JSON (${jsonError(good.slice(0, 99))})`,
  },
  {
    args: ['--resume', file('v2.json', good.replace('"version":1', '"version":2'))],
    stderr: `--resume ${join(dir, 'v2.json')}: version: expected 1, got 2`,
  },
]

/** What JSON.parse says about `text` (V8's wording, which the message quotes). */
function jsonError(text: string): string {
  try {
    JSON.parse(text)
  } catch (e) {
    return (e as Error).message
  }
  return ''
}

function wireMessage(line: string): string {
  return `decodeWireLine: line: expected one JSON object, got ${JSON.stringify(line)}`
}

group('catalogue of bad inputs', () => {
  it('has at least 40 rows', () => {
    expect(rows.length + cliRows.length).toBeGreaterThanOrEqual(40)
    console.log(`catalogue: ${rows.length} library rows + ${cliRows.length} CLI rows`)
  })

  it.each(cliRows.map((r) => [`gradstream train mnist ${r.args.join(' ')}`, r] as const))(
    '%s',
    async (_, row) => {
      let stderr = ''
      const io = {
        stdout: { write: () => true, isTTY: false },
        stderr: { write: (text: string) => ((stderr += text), true) },
      }
      const code = await main(['train', 'mnist', ...row.args], io as never)
      expect(code).toBe(1)
      expect(stderr).toBe(`${row.stderr}\n`)
    },
  )

  it.each(rows.map((r) => [r.input, r] as const))('%s', (_, row) => {
    let thrown: unknown = undefined
    try {
      row.run()
    } catch (e) {
      thrown = e
    }
    expect(thrown, 'expected an error').toBeInstanceOf(row.kind)
    expect((thrown as Error).message).toBe(row.message)
  })
})
