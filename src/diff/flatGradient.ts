import type { Params } from '../tree/tree.js'
import { isTensor, type Tensor } from '../tensor/tensor.js'
import { checkValue, coordinateAt } from './diffInternals.js'
import type { NonFinite } from './diffOptions.js'

/**
 * `numericalGradient`'s central-difference loop for the two flat kinds of point — a single tensor,
 * or an array of numbers — without a scratch tree: one copy of the values, `f` called on it, the
 * coordinate's name only computed when a message needs it. The arithmetic is `gradientInto`'s
 * (tmp + h, tmp − h, (f₊ − f₋) / (2 * h)), so the result is the same bit for bit, and so are the
 * messages. Returns `null` for every other point, and for anything the general path has to
 * judge (a non-finite value, a hole or a non-number in the array), which then handles it.
 */
export function flatCentralGradient<P extends Params>(
  fn: string,
  f: (p: P) => number,
  p: P,
  h: number,
  nonFinite: NonFinite = 'throw',
): P | null {
  if (isTensor(p)) {
    const values = new Float64Array(p.data)
    if (!allFinite(values)) return null
    const grad = new Float64Array(values.length)
    centralLoop(
      fn,
      f,
      p,
      { shape: [...p.shape], data: values } as Tensor as P,
      values,
      h,
      grad,
      nonFinite === 'propagate',
    )
    return { shape: [...p.shape], data: grad } as Tensor as P
  }
  if (Array.isArray(p)) {
    const n = p.length
    const arr: number[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const v = p[i]
      if (typeof v !== 'number' || !Number.isFinite(v)) return null
      arr[i] = v
    }
    const grad = new Float64Array(n)
    centralLoop(fn, f, p, arr as unknown as P, arr, h, grad, nonFinite === 'propagate')
    return Array.from(grad) as unknown as P
  }
  return null
}

function allFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false
  return true
}

/** The book's loop on `values`, which `tree` (what `f` sees) holds or views. */
function centralLoop<P extends Params>(
  fn: string,
  f: (p: P) => number,
  p: P,
  tree: P,
  values: Float64Array | number[],
  h: number,
  out: Float64Array,
  propagate: boolean,
): void {
  const n = values.length
  // v − v is 0 exactly for a finite v and NaN for NaN and ±Infinity: one test for all three
  for (let i = 0; i < n; i++) {
    const tmp = values[i]
    values[i] = tmp + h
    let fxh1 = f(tree)
    if (typeof fxh1 !== 'number' || (fxh1 - fxh1 !== 0 && !propagate))
      fxh1 = fail(fn, fxh1, p, i, '+ h')
    values[i] = tmp - h
    let fxh2 = f(tree)
    if (typeof fxh2 !== 'number' || (fxh2 - fxh2 !== 0 && !propagate))
      fxh2 = fail(fn, fxh2, p, i, '- h')
    values[i] = tmp
    out[i] = (fxh1 - fxh2) / (2 * h)
  }
}

/** Throws the general path's message for a bad value of `f` at coordinate `i` (never returns). */
function fail(fn: string, v: unknown, p: Params, i: number, side: string): number {
  return checkValue(fn, v, () => `${coordinateAt(p, i)} ${side}`)
}
