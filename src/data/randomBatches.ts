import { expectInteger } from '../errors.js'
import { rng, rngFromState } from '../random/rng.js'
import { rowPrefetch } from '../parallel/rowPrefetch.js'
import { oneHotRows, rowCache } from '../tensor/gatheredRows.js'
import { RandomBatchesOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import type { Dataset } from './loadMnist.js'
import {
  batchesFrom,
  checkData,
  takeRows,
  type Batch,
  type Batches,
  type SamplerPosition,
} from './batches.js'

/** `randomBatches`' batch size and seed, or the position of a checkpoint to resume from. */
export interface RandomBatchesOptions {
  /** examples per batch, ≥ 1 (the book: 100) */
  readonly batchSize: number
  /** seed of the sampler's own generator */
  readonly seed: number
  /** continue from a batch's `position` (a checkpoint) instead of the seed */
  readonly from?: SamplerPosition
}

/**
 * Endless mini-batches drawn as the book's `train_neuralnet.py` draws them:
 * `batch_mask = np.random.choice(train_size, batch_size)` — uniformly, with replacement, each
 * batch independently. Seeded: the same seed gives the same batches; each batch carries its
 * `position` so a checkpoint can resume the sequence exactly.
 *
 * `data` is read as a value (tensors are values): rows of a mostly-zero `x` (images) are
 * compressed the first time a batch draws them and kept for the rest of the iteration, and a
 * batch's dense `x` is built only when its `data` is read — backprop on the wasm kernels
 * multiplies by the compressed rows directly. So do not write into `data`'s arrays while
 * batches are drawn from them.
 *
 * On a large image data set (2²⁴ numbers or more: MNIST's 60,000 rows) with the wasm kernels, the
 * next batch is drawn before this one is handed out and its rows are gathered on a worker thread
 * of the lowest priority meanwhile (the same batches; it runs only where a core is idle).
 * `closeWorkers()` ends that thread; under `setKernelThreads(1)` it never starts.
 *
 * @example
 * ```ts
 * import { take } from 'rxjs'
 * import { randomBatches, tensor } from 'gradstream'
 *
 * // the book draws from MNIST: randomBatches(loadMnist().train, { batchSize: 100, seed })
 * const data = { x: tensor([[0], [1], [2], [3]]), t: tensor([0, 1, 2, 3]) }
 * randomBatches(data, { batchSize: 3, seed: 1 })
 *   .pipe(take(2))
 *   .subscribe((b) => console.log(b.t.data))
 * // → Float64Array(3) [ 1, 3, 1 ], Float64Array(3) [ 1, 0, 0 ]
 * // (with replacement: an example can come twice in a batch)
 * const [first] = randomBatches(data, { batchSize: 3, seed: 1 }) // an Iterable too
 * const [next] = randomBatches(data, { batchSize: 3, seed: 1, from: first.position })
 * console.log(next.t.data) // → Float64Array(3) [ 1, 0, 0 ]
 * // resumed from a checkpoint: the second batch again
 * ```
 * @throws {TypeError} `randomBatches: options.batch: expected no such key (known: batchSize, seed, from), got 10`
 * @throws {RangeError} `randomBatches: batchSize: expected a positive integer, got 0`
 * @throws {ShapeError} `randomBatches: data.t: expected 100 rows (as data.x [100,784]), got shape [99]`
 * @see epochBatches
 */
export function randomBatches(data: Dataset, options: RandomBatchesOptions): Batches {
  const n = checkData('randomBatches', data)
  decodeOptions(RandomBatchesOptionsC, options, 'randomBatches')
  const { batchSize, seed, from } = options
  if (from === undefined) expectInteger('randomBatches', 'seed', seed, -2147483648, 4294967295)
  else if (from.sampler !== 'random') {
    throw new TypeError(
      `randomBatches: from.sampler: expected "random", got ${JSON.stringify(from.sampler)}`,
    )
  }
  return batchesFrom(function* (): Generator<Batch> {
    const r = from ? rngFromState(from.rng) : rng(seed)
    let drawn = from ? from.drawn : 0
    const idx = new Int32Array(batchSize)
    // mostly-zero rows (images) are compressed as batches first draw them (gatheredRows.ts)
    const xRows = rowCache(data.x)
    // one-hot targets are drawn as their labels
    const tRows = oneHotRows(data.t)
    const draw = (): Batch => {
      for (let k = 0; k < batchSize; k++) idx[k] = r.int(n)
      drawn++
      return {
        x: takeRows(data.x, idx, 0, batchSize, xRows),
        t: takeRows(data.t, idx, 0, batchSize, tRows),
        position: { sampler: 'random', rng: r.state(), drawn },
      }
    }
    // a large data set's next batch is drawn before this one is handed out, and its rows
    // gathered on a worker thread meanwhile (src/parallel/rowPrefetch.ts): the same batches
    if (xRows === null || rowPrefetch(xRows, batchSize) === null) for (;;) yield draw()
    for (let next = draw(); ;) {
      const batch = next
      next = draw()
      yield batch
    }
  })
}
