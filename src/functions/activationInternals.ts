import { show } from '../errors.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'

/** Applies a scalar function to a number or to every element of a tensor (new tensor). */
export function elementwise(
  fn: string,
  x: number | Tensor,
  f: (v: number) => number,
): number | Tensor {
  if (typeof x === 'number') return f(x)
  if (!isTensor(x)) throw new TypeError(`${fn}: x: expected a number or a tensor, got ${show(x)}`)
  const out = new Float64Array(x.data.length)
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i])
  return { shape: [...x.shape], data: out }
}
