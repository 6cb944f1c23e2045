import type { Tensor } from '../tensor/tensor.js'
import { elementwise } from './activationInternals.js'

const f = (v: number): number => (v > 0 ? 1 : 0)

/**
 * The step function: 1 where x > 0, else 0 (the book's `np.array(x > 0, dtype=int)`). Its derivative is 0 everywhere except at 0, where it does not exist: a network built from it cannot learn by gradient descent.
 *
 * @example
 * ```ts
 * import { step, tensor, toArray } from 'gradstream'
 *
 * console.log(toArray(step(tensor([-1, 0, 2])))) // → [ 0, 0, 1 ]
 * ```
 * @param x a number, or a tensor (a new tensor of its shape is returned)
 * @throws {TypeError} `step: x: expected a number or a tensor, got "a"`
 */
export function step(x: number): number
export function step(x: Tensor): Tensor
export function step(x: number | Tensor): number | Tensor {
  return elementwise('step', x, f)
}
