import type { Tensor } from '../tensor/tensor.js'
import { elementwise } from './activationInternals.js'

const f = Math.tanh

/**
 * The hyperbolic tangent, elementwise.
 *
 * @example
 * ```ts
 * import { tanh } from 'gradstream'
 *
 * console.log(tanh(0)) // → 0
 * ```
 * @param x a number, or a tensor (a new tensor of its shape is returned)
 * @throws {TypeError} `tanh: x: expected a number or a tensor, got "a"`
 */
export function tanh(x: number): number
export function tanh(x: Tensor): Tensor
export function tanh(x: number | Tensor): number | Tensor {
  return elementwise('tanh', x, f)
}
