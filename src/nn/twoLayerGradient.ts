import type * as t from 'io-ts'
import { ad } from '../autodiff/ad.js'
import { Var } from '../autodiff/tape.js'
import { scratch } from '../autodiff/tapeMemory.js'
import { pureValueAndGrad } from '../autodiff/valueAndGrad.js'
import { ShapeError, showShape } from '../errors.js'
import { CROSS_ENTROPY_DELTA } from '../functions/crossEntropyError.js'
import { asTensor, readBatch, type Targets } from '../functions/lossInternals.js'
import type { TensorLike } from '../functions/tensorLike.js'
import { TwoLayerGradientOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { gatheredFrom } from '../tensor/gatheredRows.js'
import { oneHotLabelsOf } from '../tensor/oneHotLabels.js'
import { pairwiseSum } from '../tensor/reduce.js'
import { isValue } from '../tensor/lazyData.js'
import { sizeOf, type Tensor } from '../tensor/tensor.js'
import { expectWeights, type TwoLayerWeights } from './twoLayerWeights.js'

/** Options of `twoLayerGradient`: the `loss` differentiated (codec `TwoLayerGradientOptionsC`). */
export type TwoLayerGradientOptions = t.TypeOf<typeof TwoLayerGradientOptionsC>

/** The four weights as the tape's nodes (or constants). */
type Layers = { readonly [K in keyof TwoLayerWeights]: Var | Tensor }

/** The book's forward pass, Affine → Sigmoid → Affine: a2 = σ(x·W1 + b1)·W2 + b2, on the tape. */
export const twoLayerLogits = (p: Layers, x: Tensor): Var =>
  ad.affine(ad.affine(x, p.W1, p.b1, 'sigmoid'), p.W2, p.b2)

/** A batch: x [n, d], the targets as given (labels [n] or rows [n, k]) and as read. */
interface Batch {
  readonly x: Tensor
  readonly t: Tensor
  readonly targets: Targets
}

/** The loss `twoLayerGradient` differentiates. */
type TwoLayerLoss = NonNullable<TwoLayerGradientOptions['loss']>

/** The four gradients, in `TwoLayerWeights`' order. */
type TwoLayerGrads = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor }

/**
 * `twoLayerGradient` with its loss kind decoded: (params, x, t, kind, fn) → loss and gradients.
 * (Each `twoLayerNet` makes one, with its own tape buffers: the buffers a net's training step
 * reuses from call to call are laid out for that net's shapes.)
 */
export type TwoLayerRecipe = (
  p: TwoLayerWeights,
  x: TensorLike,
  t: TensorLike,
  kind: TwoLayerLoss,
  fn: string,
) => { loss: number; grad: TwoLayerGrads }

/** A `TwoLayerRecipe` with tape buffers of its own. */
export function twoLayerRecipe(): TwoLayerRecipe {
  const fused = pureValueAndGrad(
    (p: Layers, b: Batch) => ad.softmaxCrossEntropy(twoLayerLogits(p, b.x), b.t),
    batchIsValue,
  )
  const book = pureValueAndGrad(
    (p: Layers, b: Batch) => crossEntropyOfLogits(twoLayerLogits(p, b.x), b.targets),
    batchIsValue,
  )
  return (p, xIn, tIn, kind, fn) => {
    expectWeights(fn, p)
    // a batch drawn as compressed rows is a tensor whose dense rows are built on first read of
    // its data (which asTensor's check would do): the tape's held products never need them
    const x0 = gatheredFrom(xIn as Tensor) === undefined ? asTensor(fn, 'x', xIn) : (xIn as Tensor)
    const x = x0.shape.length === 1 ? { shape: [1, x0.shape[0]], data: x0.data } : x0
    const d = p.W1.shape[0]
    const k = p.W2.shape[1]
    if (x.shape.length !== 2 || x.shape[1] !== d) {
      throw new ShapeError(
        `${fn}: x: expected shape [N,${d}] to match W1 ${showShape(p.W1.shape)}, got ${showShape(x0.shape)}`,
      )
    }
    const n = x.shape[0]
    // one example ([D]) is a batch of one: its target becomes one row ([K]) or one label
    const t0 = asTensor(fn, 't', tIn)
    const t =
      x0.shape.length === 1 && t0.shape.length <= 1
        ? { shape: t0.shape.length === 1 && t0.shape[0] === k ? [1, k] : [1], data: t0.data }
        : t0
    // the targets are read against a2's shape [n, k] (the numbers of a2 are not needed for
    // that: an array of its length stands in, never written, its pages never touched); one-hot
    // rows drawn as labels, which the fused loss reads as labels, by their shape alone too
    const lazyRows = kind !== 'crossEntropy' && oneHotLabelsOf(t) !== undefined
    const targets = readBatch(
      fn,
      { shape: [n, k], data: standIn(n * k) },
      lazyRows ? { shape: t.shape, data: standIn(sizeOf(t.shape)) } : t,
    ).t
    const W = { W1: p.W1, b1: p.b1, W2: p.W2, b2: p.b2 }
    const { value, grad } = (kind === 'crossEntropy' ? book : fused)(W, { x, t, targets })
    return { loss: value, grad }
  }
}

/** Whether a batch's numbers can never change (its targets are read from `t`). */
const batchIsValue = (b: Batch): boolean => isValue(b.x) && isValue(b.t)

let blank = new Float64Array(0)
const standIn = (len: number): Float64Array =>
  blank.length === len ? blank : (blank = new Float64Array(len))

/**
 * The book's loss on the logits a2 ([n, k]), crossEntropyError(softmax(a2), t) with δ = 1e-7,
 * as one node of the tape whose vector–Jacobian product is that loss's exact derivative
 * (`crossEntropyRows`), scaled by the incoming gradient.
 */
function crossEntropyOfLogits(a2: Var, targets: Targets): Var {
  const [n, k] = a2.shape
  const D = scratch(n * k)
  const loss = crossEntropyRows(a2.value.data, D, n, k, targets)
  return new Var(
    { shape: [], data: Float64Array.of(loss) },
    [a2],
    [
      (g) => {
        const s = g.data[0]
        const out = scratch(n * k)
        for (let i = 0; i < out.length; i++) out[i] = D[i] * s
        return { shape: [n, k], data: out }
      },
    ],
  )
}

/**
 * The book's δ-form loss on the rows of a2 (`Y`, [n, k]) and its gradient with respect to a2,
 * written into `D`. With y = softmax(a2) (as `softmax` computes it) and
 * L = −Σᵢⱼ tᵢⱼ·log(yᵢⱼ + δ) / n (summed as `crossEntropyError` sums, so the same bits):
 *
 *     ∂L/∂yⱼ = −tⱼ / ((yⱼ + δ)·n)        wⱼ = yⱼ·∂L/∂yⱼ = −tⱼ·yⱼ / ((yⱼ + δ)·n)
 *     ∂L/∂a2ⱼ = yⱼ·(∂L/∂yⱼ − Σₖ yₖ·∂L/∂yₖ) = wⱼ − yⱼ·Σₖ wₖ        (softmax's Jacobian)
 *
 * (w stays bounded where yⱼ underflows; with δ → 0 and Σt = 1 it is (y − t)/n, the fused form.)
 */
function crossEntropyRows(
  Y: Float64Array,
  D: Float64Array,
  n: number,
  k: number,
  targets: Targets,
): number {
  const delta = CROSS_ENTROPY_DELTA
  const e = new Float64Array(k)
  const w = new Float64Array(k)
  const T = targets.kind === 'oneHot' ? targets.data : null
  const terms = new Float64Array(T !== null ? n * k : n)
  for (let i = 0; i < n; i++) {
    const o = i * k
    let m = -Infinity
    for (let j = 0; j < k; j++) if (Y[o + j] > m || Number.isNaN(Y[o + j])) m = Y[o + j]
    for (let j = 0; j < k; j++) e[j] = Math.exp(Y[o + j] - m)
    const s = pairwiseSum(e, 0, k)
    let sw = 0
    for (let j = 0; j < k; j++) {
      const y = e[j] / s
      const tj =
        T !== null ? T[o + j] : targets.kind === 'labels' && targets.labels[i] === j ? 1 : 0
      if (T !== null) terms[o + j] = tj * Math.log(y + delta)
      else if (tj === 1) terms[i] = Math.log(y + delta)
      w[j] = (-tj * y) / ((y + delta) * n)
      sw += w[j]
      e[j] = y
    }
    for (let j = 0; j < k; j++) D[o + j] = w[j] - e[j] * sw
  }
  return -pairwiseSum(terms, 0, terms.length) / n
}

/**
 * The book's `TwoLayerNet.gradient` (§5.7) — backpropagation through affine → sigmoid → affine
 * → fused softmax-cross-entropy — together with the loss it differentiates:
 *
 *     a1 = x·W1 + b1   z1 = σ(a1)   a2 = z1·W2 + b2   y = softmax(a2)
 *     δ2 = (y − t) / N              ∂W2 = z1ᵀ·δ2   ∂b2 = Σᵢ δ2ᵢ
 *     δ1 = (δ2·W2ᵀ) ⊙ z1 ⊙ (1 − z1)   ∂W1 = xᵀ·δ1    ∂b1 = Σᵢ δ1ᵢ
 *
 * A recipe over the reverse-mode tape (`valueAndGrad` of `ad.affine` twice and
 * `ad.softmaxCrossEntropy`): the engine every differentiated function runs on does the work —
 * on the WebAssembly backend a mostly-zero x (a batch from `randomBatches` / `epochBatches`)
 * compressed once for x·W1 and xᵀ·δ1, the step in buffers reused from call to call, ∂W1 left
 * where its product wrote it until read, both kernel threads where the step timer finds that
 * they pay (`setKernelThreads`). `loss` is `softmaxCrossEntropy(a2, t)`, so loss and gradient
 * are exactly consistent; with `{ loss: 'crossEntropy' }` it is the book's
 * `crossEntropyError(softmax(a2), t)` (δ = 1e-7, the same bits as `twoLayerNet`'s loss of that
 * kind) and δ2 that loss's exact derivative. Targets are one-hot rows (as the book trains),
 * labels, or any rows of weights; for rows that do not sum to 1, δ2 = (y·Σⱼtⱼ − t) / N, the
 * exact gradient. The returned gradients are fresh.
 *
 * @example
 * ```ts
 * import { tensor, twoLayerGradient, twoLayerNet } from 'gradstream'
 *
 * // MNIST's would be 784–50–10 with a batch of 100 images
 * const net = twoLayerNet({ inputSize: 3, hiddenSize: 4, outputSize: 2, seed: 1 })
 * const x = tensor([
 *   [0.5, 0, 1],
 *   [0, 0.3, 0.2],
 * ])
 * const t = tensor([
 *   [1, 0],
 *   [0, 1],
 * ])
 * const { loss, grad } = twoLayerGradient(net.params, x, t) // grad: { W1, b1, W2, b2 }
 * console.log(loss.toFixed(9), grad.W1.shape) // → 0.693149350 [ 3, 4 ]
 * console.log(...grad.b2.data.map((g) => +g.toExponential(9))) // → -0.0005947609494 0.0005947609494
 * // the book's gradient check: backprop against central differences
 * const numerical = net.numericalGradient(net.params, x, t)
 * const gap = Math.max(...grad.W1.data.map((g, i) => Math.abs(g - numerical.W1.data[i])))
 * console.log(gap < 1e-9) // → true
 * ```
 * @throws {ShapeError} `twoLayerNet.gradient: x: expected shape [N,784] to match W1 [784,50], got [100,783]`
 */
export function twoLayerGradient(
  p: TwoLayerWeights,
  x: TensorLike,
  t: TensorLike,
  opts: TwoLayerGradientOptions = {},
  fn = 'twoLayerNet.gradient',
): { loss: number; grad: TwoLayerGrads } {
  expectWeights(fn, p)
  const kind =
    decodeOptions(TwoLayerGradientOptionsC, opts, fn, 'opts').loss ?? 'softmaxCrossEntropy'
  return (shared ??= twoLayerRecipe())(p, x, t, kind, fn)
}

/** `twoLayerGradient`'s tape buffers, made on its first call. */
let shared: TwoLayerRecipe | undefined
