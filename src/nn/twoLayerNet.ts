import type * as t from 'io-ts'
import { diffOptions } from '../diff/diffInternals.js'
import type { DiffOptions } from '../diff/diffOptions.js'
import { numericalGradient as numericalGradientOf } from '../diff/numericalGradient.js'
import { crossEntropyError } from '../functions/crossEntropyError.js'
import { asTensor, readBatch, type Targets } from '../functions/lossInternals.js'
import type { TensorLike } from '../functions/tensorLike.js'
import { sigmoid } from '../functions/sigmoid.js'
import { softmax } from '../functions/softmax.js'
import { softmaxRowsInto } from '../functions/softmaxInternals.js'
import { softmaxCrossEntropy } from '../functions/softmaxCrossEntropy.js'
import { rng } from '../random/rng.js'
import { TwoLayerNetConfigC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { randn } from '../random/sample.js'
import { add } from '../tensor/elementwise.js'
import { TapeMemory } from '../autodiff/tapeMemory.js'
import { sigmoidBiasKernel } from '../tensor/kernels/sigmoidKernel.js'
import { resolvedBackend } from '../tensor/kernels/gemmKernel.js'
import { gatheredFrom } from '../tensor/gatheredRows.js'
import { matmul } from '../tensor/linalg.js'
import { isTensor, type Tensor, zeros } from '../tensor/tensor.js'
import { BLOCK_ROWS as WASM_BLOCK_ROWS, logitsInBlocks } from './netInternals.js'
import { twoLayerLogits, twoLayerRecipe } from './twoLayerGradient.js'
import { twoLayerNetNumericalGradient } from './twoLayerNetNumericalGradient.js'

/** The parameters of a two-layer net: weights and biases of both affine layers. */
export interface TwoLayerParams {
  readonly W1: Tensor
  readonly b1: Tensor
  readonly W2: Tensor
  readonly b2: Tensor
  readonly [name: string]: Tensor
}

/** The configuration of `twoLayerNet` (its codec: `TwoLayerNetConfigC`). */
export type TwoLayerNetConfig = t.TypeOf<typeof TwoLayerNetConfigC>

/**
 * A two-layer net as pure functions of its parameters, so a training loop can differentiate and
 * update `params` without the net holding state. More methods (an analytic `gradient`) may be
 * added; the ones here keep their meaning.
 */
export interface TwoLayerNet {
  readonly config: Required<TwoLayerNetConfig>
  /** The initial parameters. */
  readonly params: TwoLayerParams
  /** The logits a2 = sigmoid(x·W1 + b1)·W2 + b2, for x of shape [N, inputSize] or [inputSize]. */
  logits(params: TwoLayerParams, x: TensorLike): Tensor
  /** softmax of the logits: class probabilities (the book's `predict`). */
  predict(params: TwoLayerParams, x: TensorLike): Tensor
  /** The loss on a batch (see `config.loss`). */
  loss(params: TwoLayerParams, x: TensorLike, t: TensorLike): number
  /** The fraction of rows whose largest output is the target class (one-hot or labels). */
  accuracy(params: TwoLayerParams, x: TensorLike, t: TensorLike): number
  /**
   * ∂loss/∂{W1, b1, W2, b2} by central differences (the book's `numerical_gradient`), each probe
   * evaluated incrementally (`twoLayerNetNumericalGradient`): equal to the book's probe loop up
   * to the rounding the difference quotient amplifies (≈ ε·|f|/h). With `method: 'forward'` or
   * `'backward'`, extra parameters, or a non-finite point or loss, it runs the plain probe loop
   * (`numericalGradient` of `loss`), which is also the way to get the book's loop bit for bit.
   */
  numericalGradient(
    params: TwoLayerParams,
    x: TensorLike,
    t: TensorLike,
    opts?: DiffOptions,
  ): TwoLayerParams
  /**
   * ∂loss/∂{W1, b1, W2, b2} by backpropagation (the book's `gradient`, §5.7), of the net's loss
   * (`config.loss`), a recipe over the autodiff tape; see `twoLayerGradient`.
   */
  gradient(params: TwoLayerParams, x: TensorLike, t: TensorLike): TwoLayerParams
  /** `loss` and its backprop gradient in one pass: what the loop's `gradient(fn)` takes. */
  lossAndGradient(
    params: TwoLayerParams,
    x: TensorLike,
    t: TensorLike,
  ): { loss: number; grad: TwoLayerParams }
}

/**
 * The book's `TwoLayerNet` (§4.5): affine → sigmoid → affine → softmax, with
 * `W1 = weightInitStd·randn(inputSize, hiddenSize)`, `b1 = 0`, `W2 = weightInitStd·randn(hiddenSize,
 * outputSize)`, `b2 = 0`, and predict / loss / accuracy / numericalGradient as pure functions of
 * the parameters.
 *
 * @example
 * ```ts
 * import { twoLayerNet, zeros } from 'gradstream'
 *
 * const net = twoLayerNet({ inputSize: 784, hiddenSize: 50, outputSize: 10, seed: 1 })
 * console.log(net.params.W1.shape, net.params.b2.shape) // → [ 784, 50 ] [ 10 ]
 * const x = zeros([2, 784]) // a batch of two (blank) images, labels 3 and 7
 * console.log(net.loss(net.params, x, [3, 7])) // → 2.2779021931623697
 * // ≈ ln 10: tiny weights, near-uniform outputs
 * console.log(net.accuracy(net.params, x, [3, 7])) // → 0.5
 * // both rows score class 3 highest (same input, same output): one hit in two
 * ```
 * @throws {RangeError} `twoLayerNet: hiddenSize: expected a positive integer, got 0`
 * @throws {RangeError} `twoLayerNet: weightInitStd: expected a positive finite number, got -1`
 */
export function twoLayerNet(config: TwoLayerNetConfig): TwoLayerNet {
  const fn = 'twoLayerNet'
  decodeOptions(TwoLayerNetConfigC, config, fn, 'config')
  const { inputSize, hiddenSize, outputSize } = config
  const weightInitStd = config.weightInitStd ?? 0.01
  const seed = config.seed ?? 0
  const lossKind = config.loss ?? 'softmaxCrossEntropy'
  const r = rng(seed)
  const params: TwoLayerParams = {
    W1: randn([inputSize, hiddenSize], r, weightInitStd),
    b1: zeros([hiddenSize]),
    W2: randn([hiddenSize, outputSize], r, weightInitStd),
    b2: zeros([outputSize]),
  }
  // the tape's buffers: a data set's blocks of rows (logits), the training step's (gradient)
  const memory = new TapeMemory(true)
  const lossAndGradient = twoLayerRecipe()
  const logits = (p: TwoLayerParams, x: TensorLike): Tensor => {
    const xt = asTensor(`${fn}.predict`, 'x', x)
    // a data set on the wasm backend: the tape's forward pass a block of rows at a time
    const blocks = blocksApply(p, xt) ? logitsInBlocks(memory, twoLayerLogits, p, xt) : null
    if (blocks !== null) return blocks
    const a1 = matmul(xt, p.W1)
    const h = a1.shape[a1.shape.length - 1]
    // σ(a1 + b1) in place on the fresh product (the same bits as sigmoid(add(a1, b1)), one pass
    // and no second array); any other b1 shape goes through add's broadcasting and its errors
    const z1 =
      h > 0 && isTensor(p.b1) && p.b1.shape.length === 1 && p.b1.shape[0] === h
        ? (sigmoidBiasKernel(a1.data, p.b1.data, a1.data.length / h, h), a1)
        : sigmoid(add(a1, p.b1))
    return add(matmul(z1, p.W2), p.b2)
  }
  const predict = (p: TwoLayerParams, x: TensorLike): Tensor => softmax(logits(p, x))
  const loss = (p: TwoLayerParams, x: TensorLike, t: TensorLike): number =>
    lossKind === 'crossEntropy'
      ? crossEntropyError(predict(p, x), t)
      : softmaxCrossEntropy(logits(p, x), t)
  // predict's result a block of rows at a time: every kernel computes a row from that row alone,
  // so the numbers are predict's, while a block's intermediates stay in cache and no array of
  // the whole set's hidden activations (60,000×50 on MNIST's training set) is made; any shape
  // that predict would reject goes to predict whole, for its error message
  const predictByBlocks = (p: TwoLayerParams, x: TensorLike): Tensor => {
    const xt = asTensor(`${fn}.predict`, 'x', x)
    const n = xt.shape[0]
    if (xt.shape.length !== 2 || n <= BLOCK_ROWS || !fitsRows(p, xt.shape[1])) {
      return predict(p, xt)
    }
    const d = xt.shape[1]
    const k = p.W2.shape[1]
    const y = new Float64Array(n * k)
    for (let start = 0; start < n; start += BLOCK_ROWS) {
      const end = Math.min(n, start + BLOCK_ROWS)
      const block = { shape: [end - start, d], data: xt.data.subarray(start * d, end * d) }
      y.set(predict(p, block).data, start * k)
    }
    return { shape: [n, k], data: y }
  }
  const accuracy = (p: TwoLayerParams, x: TensorLike, t: TensorLike): number => {
    const xt = asTensor(`${fn}.predict`, 'x', x)
    // a data set on the wasm backend: its logits by the tape's blocks, turned into predict's
    // probabilities in place (softmax's arithmetic), with no second array of the whole set
    const a2 = blocksApply(p, xt) ? logitsInBlocks(memory, twoLayerLogits, p, xt) : null
    if (a2 !== null) {
      const [n, k] = a2.shape
      softmaxRowsInto(a2.data, a2.data, n, k, new Float64Array(k))
    }
    const b = readBatch(`${fn}.accuracy`, a2 ?? predictByBlocks(p, xt), t)
    return hitsOf(b.y, b.t, 0, b.rows, b.width) / b.rows
  }
  return {
    config: { inputSize, hiddenSize, outputSize, weightInitStd, seed, loss: lossKind },
    params,
    logits,
    predict,
    loss,
    accuracy,
    numericalGradient: (p, x, t, opts) => {
      const xt = asTensor(`${fn}.numericalGradient`, 'x', x)
      const tt = asTensor(`${fn}.numericalGradient`, 't', t)
      const f = (q: TwoLayerParams): number => loss(q, xt, tt)
      return incrementalGradient(p, xt, tt, f, lossKind, opts) ?? numericalGradientOf(f, p, opts)
    },
    gradient: (p, x, t) => lossAndGradient(p, x, t, lossKind, `${fn}.gradient`).grad,
    lossAndGradient: (p, x, t) => lossAndGradient(p, x, t, lossKind, `${fn}.lossAndGradient`),
  }
}

/** Rows `accuracy` scores at a time (a block's hidden activations: 1,000×hiddenSize). */
const BLOCK_ROWS = 1000

/**
 * Whether logits run x [n, d] through `p` in blocks of rows: the wasm backend, more than
 * WASM_BLOCK_ROWS rows (a data set), not a batch drawn as compressed rows, shapes that predict
 * accepts.
 */
function blocksApply(p: TwoLayerParams, x: Tensor): boolean {
  return (
    resolvedBackend() === 'wasm' &&
    x.shape.length === 2 &&
    x.shape[0] > WASM_BLOCK_ROWS &&
    gatheredFrom(x) === undefined &&
    fitsRows(p, x.shape[1])
  )
}

/**
 * The rows `rows` of predictions `y` (rows×width, row r0 + i of the set at row i) whose largest
 * entry (the first, in a tie) is the target class: one-hot rows (their largest entry) or labels.
 */
function hitsOf(y: Float64Array, t: Targets, r0: number, rows: number, width: number): number {
  let hits = 0
  for (let i = 0; i < rows; i++) {
    const o = i * width
    let best = 0
    for (let j = 1; j < width; j++) if (y[o + j] > y[o + best]) best = j
    let target: number
    if (t.kind === 'labels') target = t.labels[r0 + i]
    else {
      const ot = (r0 + i) * width
      target = 0
      for (let j = 1; j < width; j++) if (t.data[ot + j] > t.data[ot + target]) target = j
    }
    if (best === target) hits++
  }
  return hits
}

/** Whether `p` is four tensors that predict accepts for rows of `d` inputs. */
function fitsRows(p: TwoLayerParams, d: number): boolean {
  const { W1, b1, W2, b2 } = p
  if (![W1, b1, W2, b2].every(isTensor)) return false
  const [h, k] = [W1.shape[1], W2.shape[1]]
  return (
    W1.shape.length === 2 &&
    W1.shape[0] === d &&
    b1.shape.length === 1 &&
    b1.shape[0] === h &&
    W2.shape.length === 2 &&
    W2.shape[0] === h &&
    b2.shape.length === 1 &&
    b2.shape[0] === k &&
    W1.data.length === d * h &&
    W2.data.length === h * k &&
    b1.data.length === h &&
    b2.data.length === k
  )
}

const PARAM_KEYS = ['W1', 'W2', 'b1', 'b2'] as const
const allFinite = (d: Float64Array): boolean => {
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false
  return true
}

/**
 * `twoLayerNetNumericalGradient` where it applies — central differences, exactly the four
 * parameters, finite values, a finite loss at `p` and a finite result — otherwise `null`, and the
 * caller runs the plain probe loop, which then also words any error as it always has.
 */
function incrementalGradient(
  p: TwoLayerParams,
  x: Tensor,
  t: Tensor,
  f: (q: TwoLayerParams) => number,
  loss: 'crossEntropy' | 'softmaxCrossEntropy',
  opts: DiffOptions | undefined,
): TwoLayerParams | null {
  const { h, method } = diffOptions('numericalGradient', opts)
  if (method !== 'central' || typeof p !== 'object' || p === null) return null
  const keys = Object.keys(p).sort()
  if (keys.length !== 4 || keys.some((k, i) => k !== PARAM_KEYS[i])) return null
  for (const k of PARAM_KEYS) if (!isTensor(p[k]) || !allFinite(p[k].data)) return null
  if (!Number.isFinite(f(p))) return null // shape errors surface here, worded as the loop would
  const g = twoLayerNetNumericalGradient(p, x, t, { h, loss })
  for (const k of PARAM_KEYS) if (!allFinite(g[k].data)) return null
  return g
}
