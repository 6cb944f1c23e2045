import fc from 'fast-check'
import { lastValueFrom, of, type OperatorFunction, toArray } from 'rxjs'
import type { Params, Tensor, TrainState, WithGradient } from 'gradstream'
import { flatten, treeSize, unflatten, zeros } from 'gradstream'

/**
 * A WithGradient state as `gradient()` emits it (updates = grad), built by hand so that the
 * transforms can be tested without the loop.
 */
export function withGradientState<P extends Params>(
  params: P,
  grad: P,
  extra: Partial<WithGradient<P>> = {},
): WithGradient<P> {
  return {
    step: 0,
    params,
    loss: Number.NaN,
    grad,
    lr: Number.NaN,
    opt: {},
    hyper: {},
    evaluations: 0,
    rng: { words: [1, 2, 3, 4], spare: null },
    history: [],
    metrics: {},
    baseLoss: 1,
    updates: grad,
    ...extra,
  }
}

/** Runs one state through an operator and returns the (single) result. */
export async function runOne<A, B>(state: A, op: OperatorFunction<A, B>): Promise<B> {
  const out = await lastValueFrom(of(state).pipe(op, toArray()))
  if (out.length !== 1) throw new Error(`expected one emission, got ${out.length}`)
  return out[0]
}

/** Synchronously runs one state through an operator. */
export function runSync<A, B>(state: A, op: OperatorFunction<A, B>): B {
  let out: B | undefined
  let n = 0
  let err: unknown
  of(state)
    .pipe(op)
    .subscribe({ next: (v) => ((out = v), n++), error: (e) => (err = e) })
  if (err !== undefined) throw err
  if (n !== 1) throw new Error(`expected one emission, got ${n}`)
  return out as B
}

/**
 * Runs `n` steps of an optimizer without the loop: each step feeds the previous state's
 * params, slots and hyperparameters plus `grads(k, params)` in as a fresh WithGradient state
 * (what `gradient()` would emit) and collects the emitted states.
 */
export function runSteps<P extends Params>(
  op: OperatorFunction<WithGradient<P>, TrainState<P>>,
  start: P | TrainState<P>,
  grads: (k: number, params: P) => P,
  n: number,
): TrainState<P>[] {
  let s: TrainState<P> =
    typeof start === 'object' && start !== null && 'opt' in start
      ? (start as TrainState<P>)
      : initialState(start as P)
  const out: TrainState<P>[] = []
  for (let k = 0; k < n; k++) {
    const g = grads(s.step, s.params)
    s = runSync(withGradientState(s.params, g, { ...s, grad: g, updates: g, baseLoss: 0 }), op)
    out.push(s)
  }
  return out
}

/** The state `train` emits first. */
export function initialState<P extends Params>(params: P): TrainState<P> {
  return {
    step: 0,
    params,
    loss: Number.NaN,
    grad: null,
    lr: Number.NaN,
    opt: {},
    hyper: {},
    evaluations: 0,
    rng: { words: [1, 2, 3, 4], spare: null },
    history: [],
    metrics: {},
  }
}

/** Doubles in [−3, 3] without −0 (JSON and structural equality treat −0 specially). */
export const value = fc.double({ min: -3, max: 3, noNaN: true }).map((v) => v + 0)

/** A tree template: a matrix W, a plain array b and a scalar s, of random small sizes. */
export const template = fc
  .record({
    r: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 3 }),
    m: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ r, c, m }) => ({ W: zeros([r, c]), b: new Array<number>(m).fill(0), s: 0 }))

export type TreeT = { W: Tensor; b: number[]; s: number }

/** `count` random trees shaped like `tpl`. */
export function treesLike(tpl: TreeT, count: number, v = value) {
  const n = treeSize(tpl)
  return fc.array(
    fc.array(v, { minLength: n, maxLength: n }).map((xs) => unflatten(tpl, Float64Array.from(xs))),
    { minLength: count, maxLength: count },
  )
}

/** Every scalar of `a` equals (Object.is) the same scalar of `b`. */
export function sameBits(a: Params | ArrayLike<number>, b: Params | ArrayLike<number>): boolean {
  const flat = (t: Params | ArrayLike<number>) =>
    t instanceof Float64Array ? t : flatten(t as Params)
  const x = flat(a)
  const y = flat(b)
  return x.length === y.length && x.every((v, i) => Object.is(v, y[i]))
}
