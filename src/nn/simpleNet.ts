import { ShapeError, show, showShape } from '../errors.js'
import { numericalGradient } from '../diff/numericalGradient.js'
import type { DiffOptions } from '../diff/diffOptions.js'
import { crossEntropyError } from '../functions/crossEntropyError.js'
import { asTensor } from '../functions/lossInternals.js'
import type { TensorLike } from '../functions/tensorLike.js'
import { softmax } from '../functions/softmax.js'
import { rng } from '../random/rng.js'
import { randn } from '../random/sample.js'
import { matmul } from '../tensor/linalg.js'
import { clone, isTensor, type Tensor } from '../tensor/tensor.js'

/** The book's `simpleNet`: one weight matrix, predict = x·W, loss = cross-entropy of softmax. */
export interface SimpleNet {
  /** The weights, [inputs, classes] (a private copy: changing it never changes the net). */
  readonly W: Tensor
  /** x·W (the logits), for x of shape [inputs] or [N, inputs]; `W` defaults to the net's. */
  predict(x: TensorLike, W?: Tensor): Tensor
  /** crossEntropyError(softmax(x·W), t), a pure function of `W` (default the net's). */
  loss(x: TensorLike, t: TensorLike, W?: Tensor): number
  /** ∂loss/∂W by central differences (the book's `numerical_gradient(f, net.W)`). */
  numericalGradient(x: TensorLike, t: TensorLike, opts?: DiffOptions): Tensor
}

/**
 * The book's `simpleNet` (§4.4.2): a 2×3 weight matrix W, `predict(x) = x·W`,
 * `loss(x, t) = crossEntropyError(softmax(predict(x)), t)`, and its numerical gradient dW.
 *
 * @example
 * ```ts
 * import { simpleNet, toArray } from 'gradstream'
 *
 * // the book's printed W
 * const net = simpleNet([
 *   [0.47355232, 0.9977393, 0.84668094],
 *   [0.85557411, 0.03563661, 0.69422093],
 * ])
 * console.log(toArray(net.predict([0.6, 0.9]))) // → [ 1.054148091, 0.630716529, 1.132807401 ]
 * console.log(net.loss([0.6, 0.9], [0, 0, 1])) // → 0.9280682857864075
 * const dW = net.numericalGradient([0.6, 0.9], [0, 0, 1]) // the book's dW, row by row:
 * console.log(...dW.data.subarray(0, 3))
 * // → 0.2192475712392561 0.14356242984014944 -0.3628100010055757
 * console.log(...dW.data.subarray(3))
 * // → 0.3288713569016277 0.21534364482433954 -0.5442150014750569
 * ```
 * @param init W itself (tensor or nested array, any [inputs, classes]), or `{ seed }` for a 2×3
 *   N(0, 1) matrix from `rng(seed)` (the book's `np.random.randn(2, 3)`); default `{ seed: 0 }`
 * @throws {ShapeError} `simpleNet: W: expected a matrix, got shape [3]`
 */
export function simpleNet(init: TensorLike | { readonly seed: number } = { seed: 0 }): SimpleNet {
  let W0: Tensor
  if (typeof init === 'object' && init !== null && !isTensor(init) && !Array.isArray(init)) {
    if (!('seed' in init)) {
      throw new TypeError(
        `simpleNet: init: expected a weight matrix or { seed }, got ${show(init)}`,
      )
    }
    W0 = randn([2, 3], rng(init.seed))
  } else {
    W0 = clone(asTensor('simpleNet', 'W', init))
  }
  if (W0.shape.length !== 2) {
    throw new ShapeError(`simpleNet: W: expected a matrix, got shape ${showShape(W0.shape)}`)
  }
  const predict = (x: TensorLike, W: Tensor = W0): Tensor =>
    matmul(asTensor('simpleNet.predict', 'x', x), W)
  const loss = (x: TensorLike, t: TensorLike, W: Tensor = W0): number =>
    crossEntropyError(softmax(predict(x, W)), t)
  return {
    W: W0,
    predict,
    loss,
    numericalGradient: (x, t, opts) => {
      const xt = asTensor('simpleNet.numericalGradient', 'x', x)
      const tt = asTensor('simpleNet.numericalGradient', 't', t)
      return numericalGradient((W: Tensor) => loss(xt, tt, W), W0, opts)
    },
  }
}
