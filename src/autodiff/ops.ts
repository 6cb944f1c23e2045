/**
 * The differentiable ops of the reverse-mode tape. Each takes `Var`s, tensors or numbers
 * (tensors and numbers are constants), computes its value with gradstream's tensor ops, and
 * records one vector–Jacobian product per input — the forward formula and its derivative side
 * by side, micrograd-style, so each can be checked against the math on one screen.
 */
import { ShapeError, show, showShape } from '../errors.js'
import { meanSquaredError as mseValue } from '../functions/meanSquaredError.js'
import { zipWith } from '../tensor/elementwise.js'
import { gatheredFrom } from '../tensor/gatheredRows.js'
import { gemmKernel, resolvedBackend } from '../tensor/kernels/gemmKernel.js'
import { sigmoidBiasKernel } from '../tensor/kernels/sigmoidKernel.js'
import { activationBackWasm, arenaBuffer, reluBiasWasm } from '../tensor/kernels/wasmKernels.js'
import { matmul as mm, transpose as tr, type HeldLeft } from '../tensor/linalg.js'
import { oneHotLabelsOf } from '../tensor/oneHotLabels.js'
import { pairwiseSum, sum as sumT } from '../tensor/reduce.js'
import {
  expectTensor,
  reshape as reshapeT,
  sizeOf,
  isTensor,
  type Tensor,
} from '../tensor/tensor.js'
import { keptGradient, lazyGradient, remadeBy } from './lazyGradient.js'
import { constant, Var } from './tape.js'
import { gradientBuffer, scratch, tapeMemory, zeroed } from './tapeMemory.js'

/** What an op accepts: a tape node, or a constant tensor or number. */
export type VarLike = Var | Tensor | number

/** A node for `x`: itself if it is one, else a constant. */
export function lift(fn: string, x: VarLike): Var {
  if (x instanceof Var) return x
  if (typeof x === 'number') return constant({ shape: [], data: Float64Array.of(x) })
  // a batch drawn as compressed rows: isTensor would read its data, building the dense rows
  if (gatheredFrom(x as Tensor) !== undefined) return constant(x as Tensor)
  if (isTensor(x)) {
    expectTensor(fn, 'x', x) // its shape holds its data (a loop over a bogus shape never ends)
    return constant(x)
  }
  throw new TypeError(`${fn}: expected a Var, a tensor or a number, got ${show(x)}`)
}

const unary = (x: Var, value: Tensor, vjp: (g: Tensor, y: Tensor) => Tensor): Var =>
  new Var(value, [x], [(g) => vjp(g, value)])

// The hot elementwise ops each have their own loop over Float64Arrays (one function per
// formula, never a per-element callback): a loop through a callback shared by every op is
// megamorphic and costs several times more (W5: relu and its vjp were ≈ 6 ms a step). Each
// computes the same expression, in the same order, as the callback it replaced.

const like = (t: Tensor, data: Float64Array): Tensor => ({ shape: [...t.shape], data })

/**
 * Σᵢ d[i, ·] of an n×m matrix, summed row by row from 0 (the order of `sum(t, 0)`), into a
 * gradient buffer for `into` if given.
 */
function columnSums(d: Float64Array, n: number, m: number, into?: Var): Float64Array {
  const out = into === undefined ? zeroed(m) : gradientBuffer(into, m, true)
  for (let i = 0; i < n; i++) {
    const o = i * m
    for (let j = 0; j < m; j++) out[j] += d[o + j]
  }
  return out
}

/** −x */
function negData(x: Float64Array): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) out[i] = -x[i]
  return out
}

/** x·c */
function timesData(x: Float64Array, c: number): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) out[i] = c * x[i]
  return out
}

/** x / c */
function overData(x: Float64Array, c: number): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) out[i] = x[i] / c
  return out
}

/** g·y */
function mulData(g: Float64Array, y: Float64Array): Float64Array {
  const out = scratch(g.length)
  for (let i = 0; i < out.length; i++) out[i] = g[i] * y[i]
  return out
}

/** g / x */
function divData(g: Float64Array, x: Float64Array): Float64Array {
  const out = scratch(g.length)
  for (let i = 0; i < out.length; i++) out[i] = g[i] / x[i]
  return out
}

function expData(x: Float64Array): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(x[i])
  return out
}

function logData(x: Float64Array): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) out[i] = Math.log(x[i])
  return out
}

function tanhData(x: Float64Array): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) out[i] = Math.tanh(x[i])
  return out
}

/** 1 / (1 + e⁻ˣ) */
function sigmoidData(x: Float64Array): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]))
  return out
}

/** g·(1 − y)·y */
function sigmoidBack(g: Float64Array, y: Float64Array): Float64Array {
  const out = scratch(g.length)
  for (let i = 0; i < out.length; i++) out[i] = g[i] * (1 - y[i]) * y[i]
  return out
}

/** g·(1 − y²) */
function tanhBack(g: Float64Array, y: Float64Array): Float64Array {
  const out = scratch(g.length)
  for (let i = 0; i < out.length; i++) out[i] = g[i] * (1 - y[i] * y[i])
  return out
}

/** max(0, x) (NaN → 0, as `v > 0 ? v : 0`) */
function reluData(x: Float64Array): Float64Array {
  const out = scratch(x.length)
  for (let i = 0; i < out.length; i++) {
    const v = x[i]
    out[i] = v > 0 ? v : 0
  }
  return out
}

/** g where x > 0, else 0 */
function reluBack(g: Float64Array, x: Float64Array): Float64Array {
  const out = scratch(g.length)
  for (let i = 0; i < out.length; i++) out[i] = x[i] > 0 ? g[i] : 0
  return out
}

const enum Op {
  Add,
  Sub,
  Mul,
  Div,
}

/**
 * x ∘ y where y's values repeat along x (y.length divides x.length: y's shape is a suffix of
 * x's, or equal), as zipWith's `f(x[i], y[i % m])`. `op` is the same in every call from one
 * site, and the branch sits outside the loops.
 */
function broadcastRight(op: Op, x: Float64Array, y: Float64Array): Float64Array {
  const out = scratch(x.length)
  const m = y.length
  if (m === 0) return out.fill(0)
  for (let r = 0; r < x.length; r += m) {
    if (op === Op.Add) for (let j = 0; j < m; j++) out[r + j] = x[r + j] + y[j]
    else if (op === Op.Sub) for (let j = 0; j < m; j++) out[r + j] = x[r + j] - y[j]
    else if (op === Op.Mul) for (let j = 0; j < m; j++) out[r + j] = x[r + j] * y[j]
    else for (let j = 0; j < m; j++) out[r + j] = x[r + j] / y[j]
  }
  return out
}

/** x ∘ y where x's values repeat along y, as zipWith's `f(x[i % m], y[i])`. */
function broadcastLeft(op: Op, x: Float64Array, y: Float64Array): Float64Array {
  const out = scratch(y.length)
  const m = x.length
  if (m === 0) return out.fill(0)
  for (let r = 0; r < y.length; r += m) {
    if (op === Op.Add) for (let j = 0; j < m; j++) out[r + j] = x[j] + y[r + j]
    else if (op === Op.Sub) for (let j = 0; j < m; j++) out[r + j] = x[j] - y[r + j]
    else if (op === Op.Mul) for (let j = 0; j < m; j++) out[r + j] = x[j] * y[r + j]
    else for (let j = 0; j < m; j++) out[r + j] = x[j] / y[r + j]
  }
  return out
}

const isSuffix = (short: readonly number[], long: readonly number[]): boolean => {
  if (short.length > long.length) return false
  const d = long.length - short.length
  for (let i = 0; i < short.length; i++) if (short[i] !== long[d + i]) return false
  return true
}

const FNS: Readonly<Record<Op, (u: number, v: number) => number>> = {
  [Op.Add]: (u, v) => u + v,
  [Op.Sub]: (u, v) => u - v,
  [Op.Mul]: (u, v) => u * v,
  [Op.Div]: (u, v) => u / v,
}

/**
 * a ∘ b with NumPy broadcasting: the same shapes, values and ShapeError as
 * `zipWith(a, b, f, name)`; the suffix cases (equal shapes, a bias row) by direct loops.
 */
function binary(op: Op, a: Tensor, b: Tensor, name?: string): Tensor {
  if (isSuffix(b.shape, a.shape)) return like(a, broadcastRight(op, a.data, b.data))
  if (isSuffix(a.shape, b.shape)) return like(b, broadcastLeft(op, a.data, b.data))
  return zipWith(a, b, FNS[op], name)
}

/**
 * Sums `g` down to `shape`, undoing NumPy broadcasting: leading axes `g` has beyond `shape`,
 * and axes where `shape` has 1, are summed. The adjoint of broadcasting.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g
  // a bias row's gradient: the column sums of a matrix (sumT(g, 0)'s order, row by row)
  if (g.shape.length === 2 && shape.length === 1 && shape[0] === g.shape[1]) {
    return { shape: [...shape], data: columnSums(g.data, g.shape[0], g.shape[1]) }
  }
  let out = g
  while (out.shape.length > shape.length) out = sumT(out, 0)
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1 && out.shape[d] !== 1) {
      const s = sumT(out, d)
      out = { shape: [...s.shape.slice(0, d), 1, ...s.shape.slice(d)], data: s.data }
    }
  }
  return out
}

// ── elementwise, broadcasting ────────────────────────────────────────────────

/** a + b (broadcasting; a bias row `[n]` adds to every row of `[m, n]`). ∂/∂a = g, ∂/∂b = g summed to b's shape. */
export function add(a: VarLike, b: VarLike): Var {
  const x = lift('ad.add', a)
  const y = lift('ad.add', b)
  const value = binary(Op.Add, x.value, y.value, 'ad.add')
  return new Var(value, [x, y], [(g) => sumTo(g, x.shape), (g) => sumTo(g, y.shape)])
}

/** a − b. ∂/∂a = g, ∂/∂b = −g (each summed to its shape). */
export function sub(a: VarLike, b: VarLike): Var {
  const x = lift('ad.sub', a)
  const y = lift('ad.sub', b)
  const value = binary(Op.Sub, x.value, y.value, 'ad.sub')
  return new Var(
    value,
    [x, y],
    [(g) => sumTo(g, x.shape), (g) => sumTo(like(g, negData(g.data)), y.shape)],
  )
}

/** a ⊙ b. ∂/∂a = g ⊙ b, ∂/∂b = g ⊙ a. */
export function mul(a: VarLike, b: VarLike): Var {
  const x = lift('ad.mul', a)
  const y = lift('ad.mul', b)
  const value = binary(Op.Mul, x.value, y.value, 'ad.mul')
  return new Var(
    value,
    [x, y],
    [
      (g) => sumTo(binary(Op.Mul, g, y.value), x.shape),
      (g) => sumTo(binary(Op.Mul, g, x.value), y.shape),
    ],
  )
}

/** a / b. ∂/∂a = g / b, ∂/∂b = −g·a / b². */
export function div(a: VarLike, b: VarLike): Var {
  const x = lift('ad.div', a)
  const y = lift('ad.div', b)
  const value = binary(Op.Div, x.value, y.value, 'ad.div')
  return new Var(
    value,
    [x, y],
    [
      (g) => sumTo(binary(Op.Div, g, y.value), x.shape),
      (g) =>
        sumTo(
          zipWith(g, binary(Op.Div, value, y.value), (u, r) => -u * r),
          y.shape,
        ),
    ],
  )
}

/** −a. ∂ = −g. */
export const neg = (a: VarLike): Var => {
  const x = lift('ad.neg', a)
  return unary(x, like(x.value, negData(x.value.data)), (g) => like(g, negData(g.data)))
}

/** eᵃ. ∂ = g·eᵃ. */
export const exp = (a: VarLike): Var => {
  const x = lift('ad.exp', a)
  return unary(x, like(x.value, expData(x.value.data)), (g, y) => like(g, mulData(g.data, y.data)))
}

/** ln a. ∂ = g / a. */
export const log = (a: VarLike): Var => {
  const x = lift('ad.log', a)
  return unary(x, like(x.value, logData(x.value.data)), (g) =>
    like(g, divData(g.data, x.value.data)),
  )
}

/** σ(a) = 1 / (1 + e⁻ᵃ), the book's sigmoid. ∂ = g·σ(1 − σ) (the book's Sigmoid.backward). */
export const sigmoid = (a: VarLike): Var => {
  const x = lift('ad.sigmoid', a)
  const y = like(x.value, sigmoidData(x.value.data))
  return unary(x, y, (g) => like(g, sigmoidBack(g.data, y.data)))
}

/** max(0, a). ∂ = g where a > 0, else 0 (the book's Relu.backward: the mask is a ≤ 0). */
export const relu = (a: VarLike): Var => {
  const x = lift('ad.relu', a)
  return unary(x, like(x.value, reluData(x.value.data)), (g) =>
    like(g, reluBack(g.data, x.value.data)),
  )
}

/** tanh a. ∂ = g·(1 − tanh² a). */
export const tanh = (a: VarLike): Var => {
  const x = lift('ad.tanh', a)
  const y = like(x.value, tanhData(x.value.data))
  return unary(x, y, (g) => like(g, tanhBack(g.data, y.data)))
}

// ── linear algebra and shapes ────────────────────────────────────────────────

const as2d = (t: Tensor, vectorAsRow: boolean): Tensor =>
  t.shape.length === 2 ? t : reshapeT(t, vectorAsRow ? [1, t.data.length] : [t.data.length, 1])

/** A parameter: a node with no parents that requires a gradient (a leaf of the traced call). */
const isParameter = (v: Var): boolean => v.parents.length === 0 && v.requiresGrad

/**
 * `op(A)·op(B)` of two matrices into a tape buffer (m×n), with the kernels `matmul` runs. A
 * left operand that is data (a constant: a batch) is compressed once per differentiated call
 * and reused for its products there (x·W forward, xᵀ·δ backward): the same sums, the same bits.
 * There, a right operand W that is a parameter is copied into the tape's arena (the copy the
 * kernel would make), and ∂W = xᵀ·δ for a parameter W is made in the arena and, for a batch
 * drawn as compressed rows, left there lazy (lazyGradient.ts): an SGD update right after the
 * call sums W + a·∂W where both lie.
 */
function product(
  A: Var,
  B: Var | Tensor,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  into?: Var,
): Tensor {
  const b = B instanceof Var ? B.value : B
  const memory = tapeMemory()
  if (memory !== null && !A.requiresGrad && !transB) {
    const held = memory.held(A.value)
    // a batch drawn as compressed rows multiplies its non-zeros only (counted by its hold)
    const rows = gatheredFrom(A.value)
    memory.counting += (rows !== undefined ? rows.nonZeros : m * k) * n
    const right = B instanceof Var && isParameter(B) ? memory.placed(b) : b
    if (into === undefined) {
      return { shape: [m, n], data: heldTimes(held, transA, right, scratch(m * n)) }
    }
    if (!transA || !isParameter(into) || resolvedBackend() !== 'wasm') {
      return { shape: [m, n], data: heldTimes(held, transA, right, gradientBuffer(into, m * n)) }
    }
    const out = heldTimes(held, transA, right, scratch(m * n))
    const lazy =
      rows === undefined ? null : lazyGradient(memory, rows, right.data, out, m, k, n, into)
    if (lazy !== null) return lazy
    const g = gradientBuffer(into, m * n)
    g.set(out)
    return { shape: [m, n], data: g }
  }
  // a large ∂W = hᵀ·δ in a net's recipe: made in the arena and left there, made anew if read
  // late (lazyGradient.ts); its place in the arena taken in every call (the plan stays the same)
  const place =
    memory !== null &&
    memory.recipe &&
    into !== undefined &&
    transA &&
    m * n >= LAZY_MIN &&
    isParameter(into) &&
    resolvedBackend() === 'wasm'
      ? scratch(m * n)
      : null
  const remade = place !== null && place.buffer === arenaBuffer() ? remadeBy(memory!, into!) : null
  const out =
    remade !== null ? place! : into === undefined ? scratch(m * n) : gradientBuffer(into, m * n)
  if (memory !== null) {
    const rows = transB ? undefined : gatheredFrom(A.value)
    memory.counting += (rows !== undefined ? rows.nonZeros : m * k) * n
  }
  gemmKernel(A.value.data, b.data, out, m, k, n, transA, transB)
  const lazy = remade !== null ? keptGradient(memory!, out, m, n, remade) : null
  return lazy ?? { shape: [m, n], data: out }
}

/**
 * Numbers of a gradient below which `product` gives it a fresh array as before: the tape's
 * fresh arrays that short are views of one block a call (TapeMemory.fresh), nothing to save.
 */
const LAZY_MIN = 8192

/**
 * The matrix product with `np.dot`'s vector rules. For Y = A·B: ∂/∂A = G·Bᵀ, ∂/∂B = Aᵀ·G (the
 * book's Affine.backward), computed with transposed-operand matmuls, no transposed copies.
 */
export function matmul(a: VarLike, b: VarLike): Var {
  const x = lift('ad.matmul', a)
  const y = lift('ad.matmul', b)
  if (x.shape.length === 2 && y.shape.length === 2 && x.shape[1] === y.shape[0]) {
    const [m, k] = x.shape
    const n = y.shape[1]
    return new Var(
      product(x, y, m, k, n, false, false),
      [x, y],
      [
        (g) => product(constant(g), y.value, m, n, k, false, true, x),
        (g) => product(x, g, k, m, n, true, false, y),
      ],
    )
  }
  const value = mm(x.value, y.value)
  const A = () => as2d(x.value, true)
  const B = () => as2d(y.value, false)
  const G = (g: Tensor) => reshapeT(g, [A().shape[0], B().shape[1]])
  return new Var(
    value,
    [x, y],
    [
      (g) => reshapeT(mm(G(g), B(), { transposeB: true }), x.shape),
      (g) => reshapeT(mm(A(), G(g), { transposeA: true }), y.shape),
    ],
  )
}

/** An activation `ad.affine` applies after its bias. */
export type AffineActivation = 'identity' | 'relu' | 'sigmoid' | 'tanh'

const ACTIVATIONS: readonly AffineActivation[] = ['identity', 'relu', 'sigmoid', 'tanh']

/** Below this many entries a layer's elementwise pass stays in JavaScript (copies cost more). */
const WASM_MIN_ENTRIES = 256

/** Rows of an h-wide layer per wasm call (2 MB): a data set's layer goes through in slices. */
const sliceRows = (h: number): number => Math.max(1, Math.floor((1 << 18) / h))

/**
 * Runs `slice(from, to)` on the rows of an n-row layer in slices of `sliceRows(h)` on the wasm
 * backend (n·h ≥ WASM_MIN_ENTRIES); returns the first row left to the JavaScript loop: n when
 * wasm did them all, 0 without wasm, the failed slice's first row when linear memory could not
 * grow (the slice runs before anything is written, so the loop takes it over).
 */
function inWasm(n: number, h: number, slice: (from: number, to: number) => void): number {
  if (n * h < WASM_MIN_ENTRIES || resolvedBackend() !== 'wasm') return 0
  const rows = sliceRows(h)
  let from = 0
  try {
    for (; from < n; from += rows) slice(from, Math.min(n, from + rows))
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
  }
  return from
}

/**
 * z ← act(z + b) row by row, in place (z n×h, b h): the unfused ops' arithmetic. Sigmoid and
 * relu run in wasm on the wasm backend (the same bits; JavaScript's relu spends most of its time
 * on a branch it mispredicts half the time).
 */
function biasActivation(
  act: AffineActivation,
  z: Float64Array,
  b: Float64Array,
  n: number,
  h: number,
): void {
  if (act === 'sigmoid') return sigmoidBiasKernel(z, b, n, h)
  const from =
    act !== 'relu'
      ? 0
      : inWasm(n, h, (i0, i1) => reluBiasWasm(z.subarray(i0 * h, i1 * h), b, i1 - i0, h))
  for (let i = from; i < n; i++) {
    const o = i * h
    if (act === 'relu') {
      for (let j = 0; j < h; j++) {
        const v = z[o + j] + b[j]
        z[o + j] = v > 0 ? v : 0
      }
    } else if (act === 'tanh') for (let j = 0; j < h; j++) z[o + j] = Math.tanh(z[o + j] + b[j])
    else for (let j = 0; j < h; j++) z[o + j] += b[j]
  }
}

/** `held`·`right` (`held`ᵀ·`right` with `transA`) into `out`: `product`'s held products. */
function heldTimes(
  held: HeldLeft,
  transA: boolean,
  right: Tensor,
  out: Float64Array,
): Float64Array {
  return (transA ? held.transposeTimes(right, out) : held.times(right, out)).data
}

/**
 * δ = g ⊙ act′ for an m×n layer, from the activation's output y (relu: y > 0 ⇔ z > 0); with
 * `sums`, also Σᵢ δᵢ (the bias gradient) added into it in the same pass, row by row from 0 as
 * `columnSums` adds.
 */
function activationBack(
  act: AffineActivation,
  g: Float64Array,
  y: Float64Array,
  m: number,
  n: number,
  sums: Float64Array | null,
): Float64Array {
  if (act === 'identity') {
    if (sums !== null) addRows(g, m, n, sums)
    return g
  }
  const d = scratch(g.length)
  const code = act === 'relu' ? 0 : act === 'sigmoid' ? 1 : 2
  const from = inWasm(m, n, (i0, i1) =>
    activationBackWasm(
      code,
      g.subarray(i0 * n, i1 * n),
      y.subarray(i0 * n, i1 * n),
      d.subarray(i0 * n, i1 * n),
      i1 - i0,
      n,
      sums,
    ),
  )
  for (let i = from; i < m; i++) {
    const o = i * n
    if (act === 'relu') for (let j = o; j < o + n; j++) d[j] = y[j] > 0 ? g[j] : 0
    else if (act === 'sigmoid') for (let j = o; j < o + n; j++) d[j] = g[j] * (1 - y[j]) * y[j]
    else for (let j = o; j < o + n; j++) d[j] = g[j] * (1 - y[j] * y[j])
    if (sums !== null) for (let j = 0; j < n; j++) sums[j] += d[o + j]
  }
  return d
}

/** sums[j] += Σᵢ d[i, j] of an m×n matrix, row by row from 0 (`columnSums`' order). */
function addRows(d: Float64Array, m: number, n: number, sums: Float64Array): void {
  for (let i = 0; i < m; i++) {
    const o = i * n
    for (let j = 0; j < n; j++) sums[j] += d[o + j]
  }
}

/**
 * The book's Affine layer and an activation in one op: `act(x·W + b)` for x [m,k], W [k,n] and
 * b [n] — the value, and the gradients, of `ad.relu(ad.add(ad.matmul(x, W), b))` (or sigmoid,
 * tanh, none), bit for bit, in fewer passes and buffers. With δ = g ⊙ act′(y):
 * ∂/∂x = δ·Wᵀ, ∂/∂W = xᵀ·δ, ∂/∂b = Σᵢ δᵢ (the book's Affine.backward after Relu.backward).
 *
 * @example
 * ```ts
 * import { ad, tensor, valueAndGrad, type Tensor, type Var } from 'gradstream'
 *
 * type P = { W: Var; b: Var }
 * const loss = (p: P, x: Tensor) => ad.sum(ad.affine(x, p.W, p.b, 'relu'))
 * const params = { W: tensor([[1, -1], [2, 0.5]]), b: tensor([0.5, -3]) }
 * const { value, grad } = valueAndGrad(loss)(params, tensor([[1, 1]]))
 * console.log(value, Array.from(grad.b.data)) // → 3.5 [ 1, 0 ]
 * ```
 * @param activation `'identity'`, `'relu'`, `'sigmoid'` or `'tanh'`; default `'identity'`
 * @throws {ShapeError} `ad.affine: shapes [2,3], [4,5] and [5] do not align (x [m,k], W [k,n], b [n])`
 * @throws {TypeError} `ad.affine: activation: expected "identity", "relu", "sigmoid" or "tanh", got "elu"`
 */
export function affine(
  x: VarLike,
  W: VarLike,
  b: VarLike,
  activation: AffineActivation = 'identity',
): Var {
  const xs = lift('ad.affine', x)
  const ws = lift('ad.affine', W)
  const bs = lift('ad.affine', b)
  if (!ACTIVATIONS.includes(activation)) {
    throw new TypeError(
      `ad.affine: activation: expected "identity", "relu", "sigmoid" or "tanh", got ${show(activation)}`,
    )
  }
  const [m, k] = xs.shape
  const n = ws.shape[1]
  if (
    xs.shape.length !== 2 ||
    ws.shape.length !== 2 ||
    bs.shape.length !== 1 ||
    ws.shape[0] !== k ||
    bs.shape[0] !== n
  ) {
    throw new ShapeError(
      `ad.affine: shapes ${showShape(xs.shape)}, ${showShape(ws.shape)} and ${showShape(bs.shape)} do not align (x [m,k], W [k,n], b [n])`,
    )
  }
  const y = product(xs, ws, m, k, n, false, false).data
  biasActivation(activation, y, bs.value.data, m, n)
  const d = new AffineDelta(activation, y, bs, m, n)
  return new Var(
    { shape: [m, n], data: y },
    [xs, ws, bs],
    [
      (g) => product(constant(d.of(g)), ws.value, m, n, k, false, true, xs),
      (g) => product(xs, d.of(g), k, m, n, true, false, ws),
      (g) => (d.of(g), { shape: [n], data: d.db }),
    ],
  )
}

/**
 * {@link affine}'s δ, made once per backward pass and shared by the three gradients; ∂b = Σᵢ δᵢ
 * summed in δ's pass. An object, not a named closure of each call (tsx names those as they are
 * made: valueAndGrad.ts' Walk).
 */
class AffineDelta {
  private seen: Tensor | null = null
  private delta: Float64Array
  /** ∂b once `of` has run (while b requires a gradient) */
  db: Float64Array

  constructor(
    private readonly activation: AffineActivation,
    private readonly y: Float64Array,
    private readonly bs: Var,
    private readonly m: number,
    private readonly n: number,
  ) {
    this.delta = y
    this.db = y
  }

  /** δ for the backward pass whose gradient is `g` */
  of(g: Tensor): Tensor {
    const { m, n } = this
    if (this.seen !== g) {
      this.seen = g
      const sums = this.bs.requiresGrad ? gradientBuffer(this.bs, n, true) : null
      this.delta = activationBack(this.activation, g.data, this.y, m, n, sums)
      if (sums !== null) this.db = sums
    }
    return { shape: [m, n], data: this.delta }
  }
}

/** The transpose of a matrix. ∂ = gᵀ. */
export const transpose = (a: VarLike): Var => {
  const x = lift('ad.transpose', a)
  return unary(x, tr(x.value), (g) => tr(g))
}

/** The same values in another shape (one dimension may be −1). ∂ = g in a's shape. */
export const reshape = (a: VarLike, shape: readonly number[]): Var => {
  const x = lift('ad.reshape', a)
  return unary(x, reshapeT(x.value, shape), (g) => reshapeT(g, x.shape))
}

/** g (without `axis`) stretched back over `shape`, times `scale`: the adjoint of a sum. */
function spread(
  g: Tensor,
  shape: readonly number[],
  axis: number | undefined,
  scale: number,
): Tensor {
  const out = scratch(sizeOf(shape))
  if (axis === undefined) return { shape: [...shape], data: out.fill(g.data[0] * scale) }
  const a = axis < 0 ? axis + shape.length : axis
  const outer = sizeOf(shape.slice(0, a))
  const len = shape[a]
  const inner = sizeOf(shape.slice(a + 1))
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < len; i++)
      for (let j = 0; j < inner; j++) out[(o * len + i) * inner + j] = g.data[o * inner + j] * scale
  return { shape: [...shape], data: out }
}

/** Σ of all elements (a rank-0 node), or along `axis`. ∂ = g spread over the summed axis. */
export function sum(a: VarLike, axis?: number): Var {
  const x = lift('ad.sum', a)
  if (axis !== undefined && !Number.isInteger(axis)) {
    throw new RangeError(`ad.sum: axis: expected an integer, got ${show(axis)}`)
  }
  const value: Tensor =
    axis === undefined ? { shape: [], data: Float64Array.of(sumT(x.value)) } : sumT(x.value, axis)
  return unary(x, value, (g) => spread(g, x.shape, axis, 1))
}

/** The mean of all elements, or along `axis`. ∂ = g / n spread over the averaged axis. */
export function mean(a: VarLike, axis?: number): Var {
  const x = lift('ad.mean', a)
  if (axis !== undefined && !Number.isInteger(axis)) {
    throw new RangeError(`ad.mean: axis: expected an integer, got ${show(axis)}`)
  }
  const n = axis === undefined ? sizeOf(x.shape) : x.shape[axis < 0 ? axis + x.shape.length : axis]
  const s = axis === undefined ? sumT(x.value) : null
  const value: Tensor =
    s !== null
      ? { shape: [], data: Float64Array.of(s / n) }
      : (() => {
          const t = sumT(x.value, axis!)
          return like(t, overData(t.data, n))
        })()
  return unary(x, value, (g) => spread(g, x.shape, axis, 1 / n))
}

// ── losses ───────────────────────────────────────────────────────────────────

/**
 * The fused, numerically stable softmax + cross-entropy, averaged over the batch (the book's
 * SoftmaxWithLoss without its δ = 1e-7): for logits row aᵢ and target row tᵢ,
 * Lᵢ = Σⱼ tᵢⱼ (lse(aᵢ) − aᵢⱼ) with lse(a) = max a + ln Σ e^(a − max a); L = mean Lᵢ. Targets are
 * class labels (`[m]`, or a number for one row) or rows of `a`'s shape (one-hot or soft).
 * ∂L/∂aᵢ = (softmax(aᵢ)·Σⱼtᵢⱼ − tᵢ) / m — for one-hot targets the book's (y − t) / batch_size.
 */
export function softmaxCrossEntropy(logits: VarLike, target: Tensor | number): Var {
  const x = lift('ad.softmaxCrossEntropy', logits)
  const a = x.value
  if (a.shape.length < 1 || a.shape.length > 2) {
    throw new ShapeError(
      `ad.softmaxCrossEntropy: logits: expected a vector or a matrix, got shape ${showShape(a.shape)}`,
    )
  }
  const k = a.shape[a.shape.length - 1]
  const m = a.shape.length === 2 ? a.shape[0] : 1
  if (typeof target !== 'number') expectTensor('ad.softmaxCrossEntropy', 'target', target)
  const t: Tensor =
    typeof target === 'number' ? { shape: [], data: Float64Array.of(target) } : target
  const asLabels = t.shape.length === a.shape.length - 1
  const fits = asLabels
    ? t.data.length === m
    : t.shape.length === a.shape.length && t.shape.every((d, i) => d === a.shape[i])
  if (!fits) {
    throw new ShapeError(
      `ad.softmaxCrossEntropy: shapes ${showShape(a.shape)} and ${showShape(t.shape)} do not match (targets: labels of shape ${showShape(a.shape.slice(0, -1))} or rows of shape ${showShape(a.shape)})`,
    )
  }
  // one-hot rows drawn as their labels are read as those labels: the same bits (r = 0 + 1·v,
  // Σt = 1 exactly, y·1 − 0 = y), their rows never made
  const oneHot = oneHotLabelsOf(t)
  const labels = asLabels || oneHot !== undefined
  // the loops read locals: a property load on tensors of many shapes would run per element
  const A = a.data
  const T = oneHot ?? t.data
  // e^(a − max a) row by row and each row's Σ (a plain running sum): softmax(a) = e / Σ is
  // divided out where the backward pass reads it, one pass over the rows fewer
  const e = scratch(A.length)
  const z = scratch(m)
  const tsum = labels ? null : scratch(m)
  const rowLoss = scratch(m)
  // one pass per row gives the row's loss exactly as the plain `softmaxCrossEntropy` computes
  // it (its max, its pairwise sums, in the same order). The exponentials stay Math.exp's
  // wherever e lies: wasm's expInto equals Node's Math.exp bit for bit but not Chromium's, and
  // a step's bits must not depend on where its scratch was laid out
  for (let i = 0; i < m; i++) {
    const row = i * k
    let mx = -Infinity
    // Math.max: NaN if any is; of ±0 +0, where the old loop kept the first, and a − (±0) is
    // the same number for every a but ±0, whose e^(±0) and (±0 − ±0) are alike: the same bits
    for (let j = row; j < row + k; j++) mx = Math.max(mx, A[j])
    let zi = 0
    for (let j = row; j < row + k; j++) zi += e[j] = Math.exp(A[j] - mx)
    z[i] = zi
    const logS = Math.log(pairwiseSum(e, row, k))
    if (tsum === null) {
      const c = T[i]
      if (!Number.isInteger(c) || c < 0 || c >= k) {
        throw new RangeError(
          `ad.softmaxCrossEntropy: target[${i}]: expected an integer in [0, ${k - 1}], got ${show(c)}`,
        )
      }
      rowLoss[i] = logS - (A[row + c] - mx)
    } else {
      let r = 0
      let ts = 0
      for (let j = row; j < row + k; j++) {
        const tj = T[j]
        ts += tj
        if (tj !== 0) r += tj * (logS - (A[j] - mx))
      }
      tsum[i] = ts
      rowLoss[i] = r
    }
  }
  const loss = pairwiseSum(rowLoss, 0, m) / m
  const value: Tensor = { shape: [], data: Float64Array.of(loss) }
  return unary(x, value, (g) => {
    // (y·Σt − t)·s with y = e / Σ, in one pass per row: the same operations, in the same
    // order, as y, then y·Σt, then − t, then · s in four (labels: Σt = 1, and y·1 = y)
    const s = g.data[0] / m
    const d = scratch(A.length)
    for (let i = 0; i < m; i++) {
      const row = i * k
      const zi = z[i]
      if (tsum === null) {
        const c = row + T[i]
        for (let j = row; j < row + k; j++) {
          const y = e[j] / zi
          d[j] = (j === c ? y - 1 : y) * s
        }
      } else {
        const ti = tsum[i]
        for (let j = row; j < row + k; j++) d[j] = ((e[j] / zi) * ti - T[j]) * s
      }
    }
    return { shape: [...a.shape], data: d }
  })
}

/**
 * The book's mean squared error, E = ½ Σ (y − t)² over all elements (not divided by the batch,
 * as in the book's `mean_squared_error`). ∂E/∂y = g·(y − t), ∂E/∂t = −g·(y − t).
 */
export function meanSquaredError(y: VarLike, t: VarLike): Var {
  const p = lift('ad.meanSquaredError', y)
  const q = lift('ad.meanSquaredError', t)
  if (p.shape.length !== q.shape.length || p.shape.some((d, i) => d !== q.shape[i])) {
    throw new ShapeError(
      `ad.meanSquaredError: shapes ${showShape(p.shape)} and ${showShape(q.shape)} differ`,
    )
  }
  const diff = like(p.value, broadcastRight(Op.Sub, p.value.data, q.value.data))
  return new Var(
    { shape: [], data: Float64Array.of(mseValue(p.value, q.value)) },
    [p, q],
    [
      (g) => like(diff, timesData(diff.data, g.data[0])),
      (g) => like(diff, timesData(diff.data, -g.data[0])),
    ],
  )
}
