import { show } from '../errors.js'
import { expectTensor, type Tensor } from '../tensor/tensor.js'

/** The parameters of the book's two-layer net, `W1, b1, W2, b2`: what backprop and the probes read. */
export interface TwoLayerWeights {
  readonly W1: Tensor
  readonly b1: Tensor
  readonly W2: Tensor
  readonly b2: Tensor
}

/**
 * Throws unless `params` holds the four tensors `W1, b1, W2, b2` (their shapes are matched
 * against each other by the caller), naming `fn` and the field.
 */
export function expectWeights(fn: string, params: unknown): asserts params is TwoLayerWeights {
  if (typeof params !== 'object' || params === null) {
    throw new TypeError(`${fn}: params: expected { W1, b1, W2, b2 } tensors, got ${show(params)}`)
  }
  for (const k of ['W1', 'b1', 'W2', 'b2'] as const)
    expectTensor(fn, `params.${k}`, (params as Record<string, unknown>)[k])
}
