import type * as t from 'io-ts'
import { ad } from '../autodiff/ad.js'
import type { Var } from '../autodiff/tape.js'
import { TapeMemory } from '../autodiff/tapeMemory.js'
import { pureValueAndGrad } from '../autodiff/valueAndGrad.js'
import { show } from '../errors.js'
import { MlpConfigC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { softmax } from '../functions/softmax.js'
import { softmaxCrossEntropy } from '../functions/softmaxCrossEntropy.js'
import { rng } from '../random/rng.js'
import { randn } from '../random/sample.js'
import { gatheredFrom } from '../tensor/gatheredRows.js'
import { isValue } from '../tensor/lazyData.js'
import { isTensor, sizeOf, zeros, type Tensor } from '../tensor/tensor.js'
import { BLOCK_ROWS, logitsInBlocks } from './netInternals.js'

/** Hidden-layer activation of an `mlp`. */
export type Activation = 'relu' | 'sigmoid' | 'tanh'

/** Weight initialisation: He (√(2/fan-in), for relu), Xavier (√(1/fan-in), the book's for sigmoid/tanh), or a fixed std. */
export type Init = 'he' | 'xavier' | number

/** An `mlp`'s layer widths, hidden activation, weight initialisation and seed (codec `MlpConfigC`). */
export type MlpConfig = t.TypeOf<typeof MlpConfigC>

/** An mlp's parameters, named as the book's MultiLayerNet: `W1, b1, …, WL, bL`. */
export type MlpParams = { readonly [name: string]: Tensor }

/** A fully connected net with softmax-cross-entropy loss, as pure functions of its parameters. */
export interface Mlp {
  readonly config: Required<MlpConfig>
  readonly params: MlpParams
  /** the output layer's scores before softmax */
  logits(params: MlpParams, x: Tensor): Tensor
  /** class probabilities */
  predict(params: MlpParams, x: Tensor): Tensor
  /** fused softmax-cross-entropy, averaged over the batch */
  loss(params: MlpParams, x: Tensor, t: Tensor): number
  /** the loss and its gradient by reverse-mode autodiff (for the loop's `gradient(fn)`) */
  lossAndGradient(params: MlpParams, x: Tensor, t: Tensor): { loss: number; grad: MlpParams }
  /** the gradient alone */
  gradient(params: MlpParams, x: Tensor, t: Tensor): MlpParams
}

/**
 * A multi-layer perceptron (the book's `MultiLayerNet`, ch. 6): affine layers with `activation`
 * between them, softmax-cross-entropy on the last; weights drawn `std·randn` with `std` from
 * `init` and the layer's fan-in, biases zero. Its gradient comes from the autodiff tape.
 *
 * @example
 * ```ts
 * import { mlp, tensor } from 'gradstream'
 *
 * // MNIST's would be sizes: [784, 100, 100, 10]
 * const net = mlp({ sizes: [4, 8, 8, 3], activation: 'relu', init: 'he', seed: 1 })
 * console.log(Object.keys(net.params)) // → [ 'W1', 'b1', 'W2', 'b2', 'W3', 'b3' ]
 * const x = tensor([
 *   [0.1, 0.2, 0.3, 0.4],
 *   [0.5, 0.6, 0.7, 0.8],
 * ])
 * const { loss, grad } = net.lossAndGradient(net.params, x, tensor([0, 2])) // labels 0 and 2
 * console.log(loss, grad.W1.shape) // → 1.062362680124187 [ 4, 8 ]
 * ```
 * @throws {RangeError} `mlp: sizes[1]: expected a positive integer, got 0`
 * @throws {RangeError} `mlp: init: expected "he", "xavier" or a positive finite number, got -1`
 */
export function mlp(config: MlpConfig): Mlp {
  decodeOptions(MlpConfigC, config, 'mlp', 'config')
  const { sizes, activation = 'relu', seed = 0 } = config
  sizes.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 1) {
      throw new RangeError(`mlp: sizes[${i}]: expected a positive integer, got ${show(s)}`)
    }
  })
  const init = config.init ?? (activation === 'relu' ? 'he' : 'xavier')
  const r = rng(seed)
  const params: Record<string, Tensor> = {}
  const layers = sizes.length - 1
  for (let l = 1; l <= layers; l++) {
    const fanIn = sizes[l - 1]
    const std =
      init === 'he' ? Math.sqrt(2 / fanIn) : init === 'xavier' ? Math.sqrt(1 / fanIn) : init
    params[`W${l}`] = randn([fanIn, sizes[l]], r, std)
    params[`b${l}`] = zeros([sizes[l]])
  }
  const activate = (act: Activation | 'identity', z: Var): Var =>
    act === 'identity' ? z : ad[act](z)
  // each layer one fused op: act(h·W + b), the same bits as add, matmul and act one by one
  const forward = (p: { readonly [name: string]: Var | Tensor }, x: Tensor): Var => {
    let h: Var | Tensor = x
    for (let l = 1; l <= layers; l++) {
      const act = l < layers ? activation : 'identity'
      // one example ([k]) goes through the unfused ops, which take vectors
      h =
        x.shape.length === 2
          ? ad.affine(h, p[`W${l}`], p[`b${l}`], act)
          : activate(act, ad.add(ad.matmul(h, p[`W${l}`]), p[`b${l}`]))
    }
    return h as Var
  }
  // many rows (a test set) go through in blocks of rows on buffers reused from block to block
  // (netInternals.ts); a batch (or any other input) goes through whole
  const memory = new TapeMemory(true)
  const logits = (p: MlpParams, x: Tensor): Tensor => {
    if (
      gatheredFrom(x) !== undefined ||
      !isTensor(x) ||
      x.shape.length !== 2 ||
      x.shape[0] <= BLOCK_ROWS ||
      sizeOf(x.shape) !== x.data.length
    ) {
      return forward(p, x).value
    }
    // the error as the whole pass reports it (its shapes, not a block's)
    return logitsInBlocks(memory, forward, p, x) ?? forward(p, x).value
  }
  const grad = pureValueAndGrad(
    (p: Record<string, Var>, b: { x: Tensor; t: Tensor }) =>
      ad.softmaxCrossEntropy(forward(p, b.x), b.t),
    (b) => isValue(b.x) && isValue(b.t),
  )
  const lossAndGradient = (p: MlpParams, x: Tensor, t: Tensor) => {
    const { value, grad: g } = grad(p, { x, t })
    return { loss: value, grad: g }
  }
  return {
    config: { sizes: [...sizes], activation, init, seed },
    params,
    logits,
    predict: (p, x) => softmax(logits(p, x)),
    loss: (p, x, t) => softmaxCrossEntropy(logits(p, x), t),
    lossAndGradient,
    gradient: (p, x, t) => lossAndGradient(p, x, t).grad,
  }
}
