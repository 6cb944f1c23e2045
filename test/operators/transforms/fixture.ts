import { lastValueFrom, of, type OperatorFunction, toArray } from 'rxjs'
import type { Params, WithGradient } from 'gradstream'

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
