import {
  add,
  affine,
  div,
  exp,
  log,
  matmul,
  mean,
  meanSquaredError,
  mul,
  neg,
  relu,
  reshape,
  sigmoid,
  softmaxCrossEntropy,
  sub,
  sum,
  tanh,
  transpose,
} from './ops.js'

/**
 * The differentiable ops, as one namespace so their names do not clash with the plain tensor
 * ops: write a loss with `ad.matmul`, `ad.sigmoid`, `ad.softmaxCrossEntropy`… and
 * `valueAndGrad` differentiates it by reverse mode.
 *
 * @example
 * ```ts
 * import { ad, tensor, valueAndGrad, type Tensor, type Var } from 'gradstream'
 *
 * // a one-layer softmax classifier's loss, differentiated in one backward pass
 * type P = { W: Var; b: Var }
 * const loss = (p: P, { x, t }: { x: Tensor; t: Tensor }) =>
 *   ad.softmaxCrossEntropy(ad.add(ad.matmul(x, p.W), p.b), t)
 * const params = { W: tensor([[0.1, -0.2], [0.3, 0.4]]), b: tensor([0, 0]) }
 * const { value, grad } = valueAndGrad(loss)(params, { x: tensor([[1, 2]]), t: tensor([1]) })
 * console.log(value.toFixed(6), grad.b.shape) // → 0.744397 [ 2 ]
 * ```
 */
export const ad = {
  add,
  affine,
  div,
  exp,
  log,
  matmul,
  mean,
  meanSquaredError,
  mul,
  neg,
  relu,
  reshape,
  sigmoid,
  softmaxCrossEntropy,
  sub,
  sum,
  tanh,
  transpose,
} as const
