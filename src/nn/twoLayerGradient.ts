import type * as t from 'io-ts'
import { TwoLayerGradientOptionsC } from '../state/configCodecs.js'
import { decodeOptions } from '../state/decode.js'
import { CROSS_ENTROPY_DELTA } from '../functions/crossEntropyError.js'
import { readBatch, asTensor, type Targets } from '../functions/lossInternals.js'
import type { TensorLike } from '../functions/tensorLike.js'
import { ShapeError, showShape } from '../errors.js'
import { sigmoidBiasKernel } from '../tensor/kernels/sigmoidKernel.js'
import { twoLayerBackwardWasm, twoLayerForwardWasm } from '../tensor/kernels/wasmKernels.js'
import { gatheredFrom } from '../tensor/gatheredRows.js'
import { gemm, heldLeft } from '../tensor/linalg.js'
import { recordStep, stepThreads } from '../parallel/autoThreads.js'
import {
  endShared,
  twoLayerBackwardShared,
  twoLayerForwardShared,
} from '../parallel/twoLayerShared.js'
import { uninitializedF64 } from '../tensor/uninitialized.js'
import { expectWeights, type TwoLayerWeights } from './twoLayerWeights.js'
import { pairwiseSum } from '../tensor/reduce.js'
import type { Tensor } from '../tensor/tensor.js'
import { handOver } from '../tree/handOver.js'
import { lazyTensor } from '../tensor/lazyData.js'
import { lazyW1, lazyW1On } from './twoLayerLazyW1.js'

/** Options of `twoLayerGradient`: the `loss` differentiated (codec `TwoLayerGradientOptionsC`). */
export type TwoLayerGradientOptions = t.TypeOf<typeof TwoLayerGradientOptionsC>

/**
 * The book's δ-form loss on the rows of a2 (in `Y`, [n, k]) and its gradient with respect to a2,
 * written over `Y`. With y = softmax(a2) (as `softmax` computes it) and
 * L = −Σᵢⱼ tᵢⱼ·log(yᵢⱼ + δ) / n (summed as `crossEntropyError` sums, so the same bits):
 *
 *     ∂L/∂yⱼ = −tⱼ / ((yⱼ + δ)·n)        wⱼ = yⱼ·∂L/∂yⱼ = −tⱼ·yⱼ / ((yⱼ + δ)·n)
 *     ∂L/∂a2ⱼ = yⱼ·(∂L/∂yⱼ − Σₖ yₖ·∂L/∂yₖ) = wⱼ − yⱼ·Σₖ wₖ        (softmax's Jacobian)
 *
 * (w stays bounded where yⱼ underflows; with δ → 0 and Σt = 1 it is (y − t)/n, the fused form.)
 */
function crossEntropyRows(Y: Float64Array, n: number, k: number, targets: Targets): number {
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
    for (let j = 0; j < k; j++) Y[o + j] = w[j] - e[j] * sw
  }
  return -pairwiseSum(terms, 0, terms.length) / n
}

/** Column sums of an [n, m] buffer: the bias gradient Σᵢ δᵢ (the book's `np.sum(dy, axis=0)`). */
function columnSums(d: Float64Array, n: number, m: number): Tensor {
  const out = new Float64Array(m)
  for (let i = 0; i < n; i++) {
    const o = i * m
    for (let j = 0; j < m; j++) out[j] += d[o + j]
  }
  return { shape: [m], data: out }
}

/**
 * The step's intermediates, reused from call to call (the module is single-threaded and nothing
 * here calls out to user code, so one set serves every net): `hidden` holds a1 and then z1 in
 * place, `out` a2 and then δ2, `back` δ2·W2ᵀ and then δ1; `e` one row's exponentials, `rowLoss`
 * the rows' losses. None of them is ever returned: the gradients are fresh arrays.
 */
const scratch: Record<'hidden' | 'out' | 'back' | 'e' | 'rowLoss', Float64Array> = {
  hidden: new Float64Array(0),
  out: new Float64Array(0),
  back: new Float64Array(0),
  e: new Float64Array(0),
  rowLoss: new Float64Array(0),
}

/** `buf` if it holds exactly `len` numbers, else a new array of that length. */
const sized = (buf: Float64Array, len: number): Float64Array =>
  buf.length === len ? buf : new Float64Array(len)

/**
 * The book's `TwoLayerNet.gradient` (§5.7) — backpropagation through affine → sigmoid → affine
 * → fused softmax-cross-entropy — together with the loss it differentiates:
 *
 *     a1 = x·W1 + b1   z1 = σ(a1)   a2 = z1·W2 + b2   y = softmax(a2)
 *     δ2 = (y − t) / N              ∂W2 = z1ᵀ·δ2   ∂b2 = Σᵢ δ2ᵢ
 *     δ1 = (δ2·W2ᵀ) ⊙ z1 ⊙ (1 − z1)   ∂W1 = xᵀ·δ1    ∂b1 = Σᵢ δ1ᵢ
 *
 * `loss` is `softmaxCrossEntropy(a2, t)`, so loss and gradient are exactly consistent; with
 * `{ loss: 'crossEntropy' }` it is the book's `crossEntropyError(softmax(a2), t)` (δ = 1e-7, the
 * same bits as `twoLayerNet`'s loss of that kind) and δ2 that loss's exact derivative. Targets
 * are one-hot rows (as the book trains), labels, or any rows of weights; for rows that do not
 * sum to 1, δ2 = (y·Σⱼtⱼ − t) / N, the exact gradient. The transposed products run as
 * transposed-operand matmuls (no transposed copies). On the WebAssembly backend, for a mostly
 * zero x (images), x is compressed once (a batch from `randomBatches` / `epochBatches` arrives
 * compressed: its rows are gathered, its dense `data` never built) and the whole step runs in
 * wasm memory — with
 * `setKernelThreads(2)` in a shared memory, its compression and large products split by rows
 * with a helper thread; every backend, path and thread count gives the same bits (the same
 * sums in the same order, exp as `Math.exp`).
 * Intermediates live in buffers reused from call to call; the returned gradients are fresh.
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
 * console.log(loss, grad.W1.shape) // → 0.6931493503400235 [ 3, 4 ]
 * console.log(...grad.b2.data) // → -0.0005947609494426631 0.0005947609494426076
 * // the book's gradient check: backprop against central differences
 * const numerical = net.numericalGradient(net.params, x, t)
 * const gap = Math.max(...grad.W1.data.map((g, i) => Math.abs(g - numerical.W1.data[i])))
 * console.log(gap < 1e-9) // → true
 * ```
 * @throws {ShapeError} `twoLayerNet.gradient: x: expected shape [N,784] to match W1 [784,50], got [100,783]`
 */
export function twoLayerGradient(
  p: TwoLayerWeights,
  xIn: TensorLike,
  tIn: TensorLike,
  opts: TwoLayerGradientOptions = {},
  fn = 'twoLayerNet.gradient',
): { loss: number; grad: { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor } } {
  expectWeights(fn, p)
  const kind = decodeOptions(TwoLayerGradientOptionsC, opts, fn, 'opts').loss
  // a batch drawn as compressed rows is a tensor whose dense rows are built on first read of
  // its data (which asTensor's check would do): the wasm path below never needs them
  const x0 = gatheredFrom(xIn as Tensor) === undefined ? asTensor(fn, 'x', xIn) : (xIn as Tensor)
  const x = x0.shape.length === 1 ? { shape: [1, x0.shape[0]], data: x0.data } : x0
  const [d, h] = p.W1.shape
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
  // the targets are read against a2's shape [n, k] (a2 itself is not needed for that: the
  // buffer a2 will live in stands in, its contents unread)
  const targets = readBatch(
    fn,
    { shape: [n, k], data: (scratch.out = sized(scratch.out, n * k)) },
    t,
  ).t
  const Z = (scratch.hidden = sized(scratch.hidden, n * h))
  const Y = (scratch.out = sized(scratch.out, n * k))
  const D1 = (scratch.back = sized(scratch.back, n * h))
  const e = (scratch.e = sized(scratch.e, k))
  const rowLoss = (scratch.rowLoss = sized(scratch.rowLoss, n))
  // x is the left operand of x·W1 and xᵀ·δ1: on the wasm backend it is copied and compressed
  // once for both (released below, whatever happens in between), and the whole step then runs
  // on it in wasm memory (twoLayerForwardWasm / twoLayerBackwardWasm: the same kernels on the
  // same operands, without copying z1 and δ1 in and out between them)
  // with two kernel threads the same step runs on the shared instance, its heavy kernels split
  // between this thread and the helper (src/parallel/twoLayerShared.ts), x never held here
  const weightsFit =
    p.W1.data.length === d * h &&
    p.W2.data.length === h * k &&
    p.b1.data.length >= h &&
    p.b2.data.length >= k
  let inShared = false
  // the thread count: as asked, or under 'auto' (the default) whichever measures faster, for a
  // step whose split products are large enough to pay for the hand-over; its size for the timer
  // is their multiply-adds (x·W1 and xᵀ·δ1: a batch drawn as compressed rows counts its
  // non-zeros, any other all its entries, not counted before the choice) in units of 256, as
  // the tape's (tapeThreads.ts)
  const started = performance.now()
  const size = (2 * (gatheredFrom(x)?.nnz ?? n * d) * h) / 256
  const threads = weightsFit ? stepThreads(size) : 1
  if (threads === 2) {
    inShared = twoLayerForwardShared(
      gatheredFrom(x) ?? x.data,
      n,
      d,
      p.W1.data,
      p.b1.data,
      p.W2.data,
      p.b2.data,
      h,
      k,
      Y,
    )
  }
  const xs = inShared ? null : heldLeft(x)
  try {
    const hs = xs === null ? null : xs.held()
    let inWasm = inShared
    if (hs !== null && weightsFit) {
      try {
        inWasm = twoLayerForwardWasm(hs, p.W1.data, p.b1.data, p.W2.data, p.b2.data, h, k, Y)
      } catch (e) {
        // linear memory could not grow: the products below go one by one
        if (!(e instanceof RangeError)) throw e
      }
    }
    if (!inWasm) {
      // forward: a1 = x·W1 into Z, then z1 = σ(a1 + b1) in place (in wasm on that backend, the
      // same bits as Math.exp); a2 = z1·W2 + b2 into Y. The loops read locals (not p.b2.data,
      // …): params arrive as frozen trees of many shapes, and a property load the compiler
      // cannot hoist would run per element
      xs!.times(p.W1, Z)
      sigmoidBiasKernel(Z, p.b1.data, n, h)
      gemm(Z, p.W2.data, Y, n, h, k)
      const B2 = p.b2.data
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) Y[i * k + j] += B2[j]
    }
    // loss and δ2 in one pass over each row of a2: the arithmetic of softmaxCrossEntropy(a2, t)
    // (the row's max m, e = exp(a2 − m), log Σe, the row loss) and of softmax(a2) (y = e / Σe),
    // then δ2 = (y·Σⱼtⱼ − t) / n written over the row
    const book = kind === 'crossEntropy'
    const labels = targets.kind === 'labels' ? targets.labels : null
    const T = targets.kind === 'labels' ? null : targets.data
    for (let i = 0; i < (book ? 0 : n); i++) {
      const o = i * k
      let m = -Infinity
      for (let j = 0; j < k; j++) if (Y[o + j] > m || Number.isNaN(Y[o + j])) m = Y[o + j]
      for (let j = 0; j < k; j++) e[j] = Math.exp(Y[o + j] - m)
      const s = pairwiseSum(e, 0, k)
      const logS = Math.log(s)
      if (labels !== null) {
        const L = labels[i]
        rowLoss[i] = logS - (Y[o + L] - m)
        for (let j = 0; j < k; j++) Y[o + j] = e[j] / s / n
        Y[o + L] -= 1 / n
      } else if (T !== null) {
        let r = 0
        let st = 0
        for (let j = 0; j < k; j++) {
          const tj = T[o + j]
          if (tj !== 0) r += tj * (logS - (Y[o + j] - m))
          st += tj
        }
        rowLoss[i] = r
        for (let j = 0; j < k; j++) Y[o + j] = ((e[j] / s) * st - T[o + j]) / n
      }
    }
    const loss = book ? crossEntropyRows(Y, n, k, targets) : pairwiseSum(rowLoss, 0, n) / n
    // backward: ∂W2 = z1ᵀ·δ2, ∂b2 = Σᵢ δ2ᵢ, δ1 = (δ2·W2ᵀ) ⊙ z1 ⊙ (1 − z1), ∂W1 = xᵀ·δ1, ∂b1 = Σᵢ δ1ᵢ
    let W1: Tensor
    const W2 = new Float64Array(h * k)
    let b1: Tensor
    let b2: Tensor
    if (inWasm && (inShared || hs !== null)) {
      const gb1 = new Float64Array(h)
      const gb2 = new Float64Array(k)
      // a gathered batch on one thread: ∂W1 stays in memory, made only when read (its SGD
      // update sums it there), from a copy of δ1 and the batch's rows (twoLayerLazyW1.ts)
      const rows = inShared || !lazyW1On() ? undefined : gatheredFrom(x)
      const d1 = rows === undefined ? D1 : new Float64Array(n * h)
      const lazy = rows === undefined ? null : lazyW1(rows, d1, d, h)
      const g1 = lazy === null ? uninitializedF64(d * h) : null
      // false: δ1 holds ±∞ or NaN and came back in d1 for the dense product
      const done = inShared
        ? twoLayerBackwardShared(p.W2.data, Y, g1!, W2, gb1, gb2, d1)
        : twoLayerBackwardWasm(hs!, p.W2.data, Y, g1 ?? lazy!, W2, gb1, gb2, d1)
      if (done && lazy !== null) W1 = lazyTensor([d, h], lazy) as Tensor
      else {
        const out = g1 ?? uninitializedF64(d * h)
        if (!done) gemm(x.data, d1, out, d, n, h, true)
        W1 = { shape: [d, h], data: out }
      }
      b1 = { shape: [h], data: gb1 }
      b2 = { shape: [k], data: gb2 }
    } else {
      gemm(Z, Y, W2, h, n, k, true)
      b2 = columnSums(Y, n, k)
      // δ1 into D1
      gemm(Y, p.W2.data, D1, n, k, h, false, true)
      for (let i = 0; i < D1.length; i++) D1[i] *= Z[i] * (1 - Z[i])
      W1 = xs!.transposeTimes({ shape: [n, h], data: D1 })
      b1 = columnSums(D1, n, h)
    }
    recordStep(size, threads, inShared ? 2 : 1, performance.now() - started)
    // the four gradients are fresh arrays nobody else holds: the gradient stage may keep them
    return {
      loss,
      grad: {
        W1: handOver(W1),
        b1: handOver(b1),
        W2: handOver({ shape: [h, k], data: W2 }),
        b2: handOver(b2),
      },
    }
  } finally {
    if (xs !== null) xs.release()
    if (inShared) endShared()
  }
}
