// Internal (not exported from src/index.ts): a batch of one-hot target rows drawn as their labels
// (takeRows with OneHotRows, src/tensor/gatheredRows.ts), whose dense rows are made only when
// its `data` is read. A loss that reads labels (ad.softmaxCrossEntropy) reads them instead: the
// same bits as from the rows, without a fresh array a step.

import { lazyDataOf, lazyTensor, type LazyData } from './lazyData.js'
import type { Tensor } from './tensor.js'

/** One-hot rows of `cols` entries, row i's 1 at `labels[i]` and +0 elsewhere, as labels. */
class OneHotLabels implements LazyData {
  readonly length: number
  private data: Float64Array | undefined = undefined

  constructor(
    readonly labels: readonly number[],
    readonly cols: number,
  ) {
    this.length = labels.length * cols
  }

  value(): Float64Array {
    if (this.data === undefined) {
      const data = new Float64Array(this.length)
      for (let i = 0; i < this.labels.length; i++) data[i * this.cols + this.labels[i]] = 1
      this.data = data
    }
    return this.data
  }
}

/**
 * A tensor of `labels.length` one-hot rows of `cols` entries (each label an integer in
 * [0, cols)), its `data` made on first read.
 */
export function oneHotLabelsTensor(labels: readonly number[], cols: number): Tensor {
  return lazyTensor([labels.length, cols], new OneHotLabels(labels, cols))
}

/** The labels of a tensor made by `oneHotLabelsTensor` (its data not made by asking), or undefined. */
export function oneHotLabelsOf(t: Tensor): readonly number[] | undefined {
  const src = lazyDataOf(t)
  return src instanceof OneHotLabels ? src.labels : undefined
}
