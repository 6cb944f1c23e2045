import { expectInteger } from '../errors.js'
import { rng, rngFromState } from '../random/rng.js'
import { oneHotRows, rowCache } from '../tensor/gatheredRows.js'
import { EpochBatchesOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { permutation } from '../random/sample.js'
import type { Dataset } from './loadMnist.js'
import {
  batchesFrom,
  checkData,
  takeRows,
  type Batch,
  type Batches,
  type SamplerPosition,
} from './batches.js'

/** `epochBatches`' batch size and seed, what to do with a short last batch, or a checkpoint's position. */
export interface EpochBatchesOptions {
  /** examples per batch, ≥ 1 */
  readonly batchSize: number
  /** seed of the sampler's own generator */
  readonly seed: number
  /** skip an epoch's last, smaller batch (when batchSize does not divide n). Default false. */
  readonly dropLast?: boolean
  /** continue from a batch's `position` (a checkpoint) instead of the seed */
  readonly from?: SamplerPosition
}

/**
 * The number of batches an epoch of `n` examples has: ⌈n / batchSize⌉, or ⌊n / batchSize⌋ with
 * `dropLast` (at least 1).
 *
 * @example
 * ```ts
 * import { batchesPerEpoch } from 'gradstream'
 *
 * console.log(batchesPerEpoch(60000, 100)) // → 600
 * console.log(batchesPerEpoch(10, 4)) // → 3
 * console.log(batchesPerEpoch(10, 4, true)) // → 2
 * // 4 + 4 + 2: with dropLast the smaller last batch is skipped
 * ```
 */
export function batchesPerEpoch(n: number, batchSize: number, dropLast = false): number {
  expectInteger('batchesPerEpoch', 'n', n, 0)
  expectInteger('batchesPerEpoch', 'batchSize', batchSize, 1)
  return Math.max(1, dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize))
}

/**
 * Endless mini-batches by epochs: each epoch shuffles the examples (a seeded Fisher–Yates
 * permutation) and deals them out in batches without replacement, so every example is seen
 * once per epoch. Each batch carries its `position` (epoch, index in the epoch, and the
 * generator at the epoch's start) so a checkpoint can resume mid-epoch exactly.
 *
 * `data` is read as a value (tensors are values): rows of a mostly-zero `x` (images) are
 * compressed the first time a batch draws them and kept for the rest of the iteration, and a
 * batch's dense `x` is built only when its `data` is read — backprop on the wasm kernels
 * multiplies by the compressed rows directly. So do not write into `data`'s arrays while
 * batches are drawn from them.
 *
 * @example
 * ```ts
 * import { epochBatches, tensor } from 'gradstream'
 *
 * const data = { x: tensor([[0], [1], [2], [3]]), t: tensor([0, 1, 2, 3]) }
 * const [a, b, c] = epochBatches(data, { batchSize: 2, seed: 7 }) // an Iterable too
 * console.log(a.t.data, b.t.data)
 * // → Float64Array(2) [ 3, 1 ] Float64Array(2) [ 0, 2 ]
 * // the first epoch: 0, 1, 2 and 3, each once
 * const { position } = c // the second epoch's first batch (a fresh shuffle)
 * if (position.sampler === 'epoch') console.log(position.epoch, position.index) // → 1 1
 * ```
 * @throws {TypeError} `epochBatches: options: expected an object, got null`
 * @throws {RangeError} `epochBatches: batchSize: expected a positive integer, got 0`
 * @see randomBatches, batchesPerEpoch
 */
export function epochBatches(data: Dataset, options: EpochBatchesOptions): Batches {
  const n = checkData('epochBatches', data)
  decodeOptions(EpochBatchesOptionsC, options, 'epochBatches')
  const { batchSize, seed, dropLast = false, from } = options
  if (from === undefined) expectInteger('epochBatches', 'seed', seed, -2147483648, 4294967295)
  else if (from.sampler !== 'epoch') {
    throw new TypeError(
      `epochBatches: from.sampler: expected "epoch", got ${JSON.stringify(from.sampler)}`,
    )
  }
  const perEpoch = batchesPerEpoch(n, batchSize, dropLast)
  return batchesFrom(function* (): Generator<Batch> {
    const r = from ? rngFromState(from.rng) : rng(seed)
    let drawn = from ? from.drawn : 0
    let epoch = from ? from.epoch : 0
    let index = from ? from.index : 0
    // mostly-zero rows (images) are compressed where a product first holds them, and kept from
    // their second draw on (gatheredRows.ts): an epoch draws each row once
    const xRows = rowCache(data.x, true)
    // one-hot targets are drawn as their labels
    const tRows = oneHotRows(data.t)
    if (index >= perEpoch) {
      // resumed at an epoch's last batch: pass over that epoch's shuffle
      permutation(n, r)
      epoch += 1
      index = 0
    }
    for (;;) {
      const start = r.state()
      const order = permutation(n, r)
      while (index < perEpoch) {
        const lo = index * batchSize
        const hi = Math.min(lo + batchSize, n)
        index++
        drawn++
        yield {
          x: takeRows(data.x, order, lo, hi, xRows),
          t: takeRows(data.t, order, lo, hi, tRows),
          position: { sampler: 'epoch', rng: start, drawn, epoch, index },
        }
      }
      epoch += 1
      index = 0
    }
  })
}
