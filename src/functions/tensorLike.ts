import type { NestedArray, Tensor } from '../tensor/tensor.js'

/** What the losses accept as values: a tensor or a nested array of numbers. */
export type TensorLike = Tensor | NestedArray
