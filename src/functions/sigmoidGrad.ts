import type { Tensor } from '../tensor/tensor.js'
import { elementwise } from './activationInternals.js'

const f = (v: number): number => {
  const s = 1 / (1 + Math.exp(-v))
  return (1.0 - s) * s
}

/**
 * The sigmoid's derivative, σ′(x) = (1 − σ(x))·σ(x) (the book's `sigmoid_grad`).
 *
 * @example
 * ```ts
 * import { sigmoidGrad } from 'gradstream'
 *
 * console.log(sigmoidGrad(0)) // → 0.25
 * ```
 * @param x a number, or a tensor (a new tensor of its shape is returned)
 * @throws {TypeError} `sigmoidGrad: x: expected a number or a tensor, got "a"`
 */
export function sigmoidGrad(x: number): number
export function sigmoidGrad(x: Tensor): Tensor
export function sigmoidGrad(x: number | Tensor): number | Tensor {
  return elementwise('sigmoidGrad', x, f)
}
