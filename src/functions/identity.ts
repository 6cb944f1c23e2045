import type { Tensor } from '../tensor/tensor.js'
import { elementwise } from './activationInternals.js'

const f = (v: number): number => v

/**
 * The identity function, the output activation of regression (returns a copy of a tensor).
 *
 * @example
 * ```ts
 * import { identity, tensor } from 'gradstream'
 *
 * console.log(identity(3)) // → 3
 * console.log(identity(tensor([1, 2])).data) // → Float64Array(2) [ 1, 2 ]
 * ```
 * @param x a number, or a tensor (a new tensor of its shape is returned)
 * @throws {TypeError} `identity: x: expected a number or a tensor, got "a"`
 */
export function identity(x: number): number
export function identity(x: Tensor): Tensor
export function identity(x: number | Tensor): number | Tensor {
  return elementwise('identity', x, f)
}
