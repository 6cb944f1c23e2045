import { show, showShape } from '../errors.js'
import { isValue, lazyDataOf, lazyTensor, lengthOf } from '../tensor/lazyData.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'
import { handOver } from '../tree/handOver.js'
import { assertParams, type Params } from '../tree/tree.js'
import { backward, param, Var, type Gradients } from './tape.js'
import { takeFresh, TapeMemory, tapeMemory, withTapeMemory } from './tapeMemory.js'
import { withStepThreads } from '../parallel/tapeThreads.js'

/** `P` with every leaf (number or tensor) replaced by its tape node. */
export type Traced<P> = P extends number | Tensor
  ? Var
  : P extends readonly (infer Q)[]
    ? readonly Traced<Q>[]
    : { readonly [K in keyof P]: Traced<P[K]> }

/**
 * Reverse-mode differentiation of a scalar loss written with the `ad` ops: returns a function
 * that evaluates `f(params, batch)` once while recording a tape, then walks it backwards once,
 * giving the value and ∂f/∂params with params' exact structure (a number leaf gets a number,
 * a tensor leaf a tensor of its shape; a leaf `f` ignores gets zeros). The batch is data:
 * nothing flows into it. Neither `params` nor `batch` is modified. The returned value and
 * gradients are fresh; the tape's intermediates (a `Var`'s `value` inside `f`) live in buffers the
 * next call reuses — on the wasm backend in the kernels' memory, which any later wasm work may
 * overwrite or detach — so read them during the call, and copy one out if you keep it.
 *
 * @example
 * ```ts
 * import { ad, tensor, valueAndGrad, type Tensor, type Var } from 'gradstream'
 *
 * const f = (p: { a: Var }, x: Tensor) => ad.sum(ad.mul(ad.mul(p.a, x), x)) // a·Σx²
 * const { value, grad } = valueAndGrad(f)({ a: 3 }, tensor([1, 2]))
 * console.log(value, grad) // → 15 { a: 5 }
 * ```
 * @throws {TypeError} `valueAndGrad: f: expected a function, got 3`
 * @throws {TypeError} `valueAndGrad: result: expected a scalar Var (a loss built with the ad ops), got …`
 */
export function valueAndGrad<T = never, B = unknown>(
  f: (params: T, batch: B) => Var,
): <P extends Params>(params: P, batch: B) => { value: number; grad: P } {
  return differentiated(f, null)
}

/**
 * `valueAndGrad(f)` for a library loss `f` whose value and gradients depend on nothing but its
 * parameters and batch (a net's recipe): a gradient the tape leaves lazy (lazyGradient.ts) is
 * then made, if read too late to copy, by calling again with them, instead of from a copy of δ
 * kept with it — in a call whose parameters and batch are values (`isValue`: lazy tensors, the
 * update's sums; `batchIsValue` says it for the batch), never a buffer a caller may reuse (SAM's
 * climbed point, a line search's trial point). Internal.
 */
export function pureValueAndGrad<T = never, B = unknown>(
  f: (params: T, batch: B) => Var,
  batchIsValue: (batch: B) => boolean,
): <P extends Params>(params: P, batch: B) => { value: number; grad: P } {
  return differentiated(f, batchIsValue)
}

function differentiated<T, B>(
  f: (params: T, batch: B) => Var,
  batchIsValue: ((batch: B) => boolean) | null,
) {
  if (typeof f !== 'function') {
    throw new TypeError(`valueAndGrad: f: expected a function, got ${show(f)}`)
  }
  // the tape's buffers, reused from call to call (tapeMemory.ts): a call's intermediates live
  // until the next call; what it returns is copied out of them
  const memory = new TapeMemory()
  memory.recipe = batchIsValue !== null
  // large products on two threads when the step timer measures that they pay (tapeThreads.ts)
  const call = <P extends Params>(params: P, batch: B): { value: number; grad: P } =>
    withStepThreads(memory.work, () =>
      withTapeMemory(memory, () =>
        differentiate(f, params, batch, batchIsValue !== null && batchIsValue(batch) ? call : null),
      ),
    )
  return call
}

/**
 * One traced call of `f` and its backward pass (`again`: the same call, made anew, which a late
 * reader of a lazy gradient may use where every parameter is a value: `isValue`).
 */
function differentiate<T, B, P extends Params>(
  f: (params: T, batch: B) => Var,
  params: P,
  batch: B,
  again: ((params: P, batch: B) => { grad: P }) | null,
): { value: number; grad: P } {
  assertParams('valueAndGrad', 'params', params)
  const memory = tapeMemory()
  const t: Walk = { memory, leaves: [], values: true, grads: null, k: 0 }
  const traced = trace(params, t) as T
  const leaves = t.leaves
  if (memory !== null && again !== null && t.values) {
    // a leaf's gradient made by calling again (the traversal's order is `trace`'s)
    memory.again = (leaf) => {
      const i = leaves.indexOf(leaf as Var)
      return i < 0 ? null : remade(again, params, batch, i)
    }
  }
  const out = f(traced, batch)
  if (!(out instanceof Var) || out.value.data.length !== 1) {
    const got = out instanceof Var ? `a Var of shape ${showShape(out.shape)}` : show(out)
    throw new TypeError(
      `valueAndGrad: result: expected a scalar Var (a loss built with the ad ops), got ${got}`,
    )
  }
  t.grads = backward(out)
  return { value: out.value.data[0], grad: rebuild(params, t) as P }
}

/**
 * One call's walk over its parameters: `trace` puts their leaves on the tape, `rebuild` gives
 * their gradients back in the same order. Functions of the module, not closures of the call:
 * tsx (esbuild's keepNames) names every closure bound to a name as it is made, ~0.7 µs each
 * (test/autodiff/namedClosures.test.ts).
 */
interface Walk {
  readonly memory: TapeMemory | null
  /** the leaves in `trace`'s order */
  readonly leaves: Var[]
  /** whether every tensor of the parameters is a value (numbers are), found as `trace` visits them */
  values: boolean
  grads: Gradients | null
  /** `rebuild`'s next leaf */
  k: number
}

function trace(p: Params, t: Walk): unknown {
  if (typeof p === 'number') {
    const v = param({ shape: [], data: Float64Array.of(p) })
    t.leaves.push(v)
    return v
  }
  if (isTensor(p)) {
    if (t.values && !isValue(p)) t.values = false
    const v = param(t.memory === null ? p : t.memory.parameter(p))
    t.leaves.push(v)
    return v
  }
  if (Array.isArray(p)) return p.map((q) => trace(q, t))
  const o: Record<string, unknown> = {}
  for (const k of Object.keys(p)) o[k] = trace((p as Record<string, Params>)[k], t)
  return o
}

function rebuild(p: Params, t: Walk): Params {
  const grads = t.grads!
  if (typeof p === 'number') {
    const g = grads.get(t.leaves[t.k++])
    return g ? g.data[0] : 0
  }
  if (isTensor(p)) {
    const g = grads.get(t.leaves[t.k++])
    // a gradient left lazy in the tape's arena (lazyGradient.ts) stays so, its data unread
    const lz = g === undefined ? undefined : lazyDataOf(g)
    if (lz !== undefined && lz.length === lengthOf(p)) {
      return handOver(lazyTensor([...p.shape], lz))
    }
    // a fresh buffer: a gradient may share data with a tensor the loss computed (or live in
    // the tape's reused buffers) unless the tape made it for this parameter alone. Handed
    // over (src/tree/handOver): `gradient(fn)` keeps it instead of copying it again
    const data =
      g === undefined
        ? new Float64Array(lengthOf(p))
        : takeFresh(g.data) && g.data.length === lengthOf(p)
          ? g.data
          : g.data.slice()
    return handOver({ shape: [...p.shape], data })
  }
  if (Array.isArray(p)) return p.map((q) => rebuild(q, t))
  const o: Record<string, Params> = {}
  for (const key of Object.keys(p)) o[key] = rebuild((p as Record<string, Params>)[key], t)
  return o
}

/**
 * Leaf `i`'s gradient made by calling `again` (a closure of its own: it keeps the parameters and
 * the batch, not the call's tape).
 */
function remade<P extends Params, B>(
  again: (params: P, batch: B) => { grad: P },
  params: P,
  batch: B,
  i: number,
): () => Float64Array {
  return () => tensorLeaf(again(params, batch).grad, i).data
}

/** The `i`-th leaf of `p` in `trace`'s order (keys in `Object.keys` order), a tensor. */
function tensorLeaf(p: Params, i: number): Tensor {
  let k = 0
  let found: Tensor | null = null
  const walk = (q: Params): void => {
    if (found !== null) return
    if (typeof q === 'number') k++
    else if (isTensor(q)) {
      if (k++ === i) found = q
    } else if (Array.isArray(q)) for (const r of q) walk(r)
    else for (const key of Object.keys(q)) walk((q as Record<string, Params>)[key])
  }
  walk(p)
  if (found === null) throw new Error(`valueAndGrad: no tensor leaf ${i}`)
  return found
}
