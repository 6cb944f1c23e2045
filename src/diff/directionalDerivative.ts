import { flatten, type Params } from '../tree/tree.js'
import {
  checkFiniteTree,
  checkFunction,
  checkValue,
  diffOptions,
  makeScratch,
} from './diffInternals.js'
import type { DiffOptions } from './diffOptions.js'
import { zipTree } from '../tree/tree.js'

/**
 * The derivative of `f` at `p` along the direction `v` (a tree of `p`'s structure), by one
 * finite difference along the line p + s·v: central `(f(p + h·v) − f(p − h·v)) / 2h`. Equals
 * ∇f(p)·v for differentiable f (v is not normalised), at the cost of 2 evaluations whatever
 * the dimension — the check JAX's `check_grads` makes along a random direction.
 *
 * @example
 * ```ts
 * import { directionalDerivative } from 'gradstream'
 *
 * console.log(directionalDerivative((x: number[]) => x[0] ** 2 + x[1] ** 2, [3, 4], [1, 0]))
 * // → 6.00000000000378
 * ```
 * @param v the direction: finite, same structure as `p`
 * @param opts `h`, `method` and `nonFinite` as `numericalGradient`'s
 * @throws {ShapeError} `directionalDerivative: at W: shapes [2,3] and [3,2] differ`
 * @throws {RangeError} `directionalDerivative: f returned NaN at p - h·v` (also Infinity, -Infinity)
 * @see numericalGradient, partialDerivative
 */
export function directionalDerivative<P extends Params>(
  f: (p: P) => number,
  p: P,
  v: P,
  opts?: DiffOptions,
): number {
  const fn = 'directionalDerivative'
  checkFunction(fn, f)
  const { h, method, nonFinite } = diffOptions(fn, opts)
  const scratch = makeScratch(fn, 'p', p)
  checkFiniteTree(fn, 'v', v)
  zipTree(p, v, () => 0, fn) // same structure, or a ShapeError naming where
  const base = scratch.values.slice()
  const dir = flatten(v)
  const evalAlong = (s: number, where: string): number => {
    for (let i = 0; i < base.length; i++) scratch.set(i, base[i] + s * dir[i])
    return checkValue(fn, f(scratch.tree), () => where, nonFinite)
  }
  switch (method) {
    case 'central':
      return (evalAlong(h, 'p + h·v') - evalAlong(-h, 'p - h·v')) / (2 * h)
    case 'forward':
      return (evalAlong(h, 'p + h·v') - evalAlong(0, 'p')) / h
    case 'backward':
      return (evalAlong(0, 'p') - evalAlong(-h, 'p - h·v')) / h
  }
}
