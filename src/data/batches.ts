import { Observable } from 'rxjs'
import { ShapeError, show, showShape } from '../errors.js'
import type { RngState } from '../random/rng.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'
import type { Dataset } from './loadMnist.js'

export { takeRows } from '../tensor/gatheredRows.js'

/**
 * Where a sampler stands after drawing a batch: plain data (JSON-safe), so a checkpoint can hold
 * it and `randomBatches(data, { …, from: position })` / `epochBatches(…)` continue the exact
 * sequence of batches.
 */
export type SamplerPosition =
  | {
      readonly sampler: 'random'
      /** the generator after this batch */
      readonly rng: RngState
      /** batches drawn so far */
      readonly drawn: number
    }
  | {
      readonly sampler: 'epoch'
      /** the generator at the start of the current epoch, before its shuffle */
      readonly rng: RngState
      /** batches drawn so far */
      readonly drawn: number
      /** completed epochs */
      readonly epoch: number
      /** batches already drawn in the current epoch */
      readonly index: number
    }

/** One mini-batch: rows of the inputs and targets, and where the sampler stands after it. */
export interface Batch {
  readonly x: Tensor
  readonly t: Tensor
  readonly position: SamplerPosition
}

/**
 * A seeded, endless sequence of batches, usable both as an RxJS Observable (synchronous; it
 * stops drawing as soon as the subscriber unsubscribes) and as an Iterable (pull one at a time).
 * Every subscription and every iterator starts afresh from the seed (or the `from` position).
 */
export type Batches = Observable<Batch> & Iterable<Batch>

/** Wraps an iterator factory as both an Observable and an Iterable. */
export function batchesFrom(iterate: () => Iterator<Batch>): Batches {
  const source$ = new Observable<Batch>((subscriber) => {
    const it = iterate()
    try {
      while (!subscriber.closed) {
        const r = it.next()
        if (r.done) break
        subscriber.next(r.value)
      }
      if (!subscriber.closed) subscriber.complete()
    } catch (e) {
      subscriber.error(e)
    }
  })
  return Object.assign(source$, { [Symbol.iterator]: iterate })
}

/** Validates `{ x, t }` and the batch size; returns the number of examples. */
export function checkData(fn: string, data: Dataset): number {
  if (!data || !isTensor(data.x) || !isTensor(data.t)) {
    throw new TypeError(`${fn}: data: expected { x: Tensor, t: Tensor }, got ${show(data)}`)
  }
  const n = data.x.shape[0]
  if (data.x.shape.length < 1 || n < 1) {
    throw new ShapeError(
      `${fn}: data.x: expected at least one example (a row), got shape ${showShape(data.x.shape)}`,
    )
  }
  if (data.t.shape[0] !== n) {
    throw new ShapeError(
      `${fn}: data.t: expected ${n} rows (as data.x ${showShape(data.x.shape)}), got shape ${showShape(data.t.shape)}`,
    )
  }
  return n
}
