import {
  add,
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
 * const loss = (p, { x, t }) =>
 *   ad.softmaxCrossEntropy(ad.add(ad.matmul(ad.sigmoid(ad.add(ad.matmul(x, p.W1), p.b1)), p.W2), p.b2), t)
 * const { value, grad } = valueAndGrad(loss)(params, batch) // grad has params' structure
 * ```
 */
export const ad = {
  add,
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
