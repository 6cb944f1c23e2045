import type { Tensor } from '../tensor/tensor.js'
import { elementwise } from './activationInternals.js'

const f = (v: number): number => 1 / (1 + Math.exp(-v))

/**
 * The logistic sigmoid 1 / (1 + e⁻ˣ), the book's formula. For very negative x, e⁻ˣ overflows to Infinity and the result is 0, never NaN.
 *
 * @example
 * ```ts
 * import { sigmoid } from 'gradstream'
 *
 * console.log(sigmoid(0)) // → 0.5
 * ```
 * @param x a number, or a tensor (a new tensor of its shape is returned)
 * @throws {TypeError} `sigmoid: x: expected a number or a tensor, got "a"`
 */
export function sigmoid(x: number): number
export function sigmoid(x: Tensor): Tensor
export function sigmoid(x: number | Tensor): number | Tensor {
  return elementwise('sigmoid', x, f)
}
