import type { Tensor } from '../tensor/tensor.js'
import { elementwise } from './activationInternals.js'

const f = (v: number): number => Math.max(0, v)

/**
 * The rectified linear unit max(0, x) (the book's `np.maximum(0, x)`).
 *
 * @example
 * ```ts
 * import { relu, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(relu(tensor([-1, 0, 2])))) // → [ 0, 0, 2 ]
 * ```
 * @param x a number, or a tensor (a new tensor of its shape is returned)
 * @throws {TypeError} `relu: x: expected a number or a tensor, got "a"`
 */
export function relu(x: number): number
export function relu(x: Tensor): Tensor
export function relu(x: number | Tensor): number | Tensor {
  return elementwise('relu', x, f)
}
