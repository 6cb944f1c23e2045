import { ShapeError } from '../../src/errors.js'
import { isTensor, type Tensor } from '../../src/tensor/tensor.js'
import { type Params, zipTree } from '../../src/tree/tree.js'

/**
 * A loop over whole leaves: reads `ins[k][i]`, writes `outs[j][i]` for every i < `outs[0].length`.
 * Written as a plain `for` loop over local Float64Arrays, it runs without a function call per
 * scalar (which is what makes `zipTree(a, b, (x, y) => …)` ~20× slower on large trees).
 */
export type Kernel = (ins: readonly Float64Array[], outs: readonly Float64Array[]) => void

const ownKeys = (o: object) => Object.keys(o).sort()

/**
 * Applies `kernel` leaf by leaf to trees of one structure and returns `nOut` new trees of that
 * structure (records by sorted key, as `mapTree`/`zipTree` build them). A number leaf is seen
 * as a Float64Array of length 1. Inputs are never written to.
 *
 * @example
 * ```ts
 * const [mu] = leafwise('scaleByAdam', [s.mu, u], 1, ([m, g], [out]) => {
 *   for (let i = 0; i < out.length; i++) out[i] = b1 * m[i] + (1 - b1) * g[i]
 * })
 * ```
 * @throws {ShapeError} `scaleByAdam: at W: shapes [2,3] and [3,2] differ` (zipTree's message)
 */
export function leafwise(
  fn: string,
  inputs: readonly Params[],
  nOut: number,
  kernel: Kernel,
): Params[] {
  const mismatch = (): never => {
    for (let k = 1; k < inputs.length; k++) zipTree(inputs[0], inputs[k], () => 0, fn)
    throw new ShapeError(`${fn}: the trees' structures differ`)
  }
  const go = (qs: readonly Params[]): Params[] => {
    const q = qs[0]
    if (typeof q === 'number') {
      if (!qs.every((x) => typeof x === 'number')) mismatch()
      const outs = Array.from({ length: nOut }, () => new Float64Array(1))
      kernel(
        qs.map((x) => Float64Array.of(x as number)),
        outs,
      )
      return outs.map((o) => o[0])
    }
    if (isTensor(q)) {
      const ok = qs.every(
        (x) =>
          isTensor(x) &&
          x.data.length === q.data.length &&
          x.shape.length === q.shape.length &&
          x.shape.every((d, i) => d === q.shape[i]),
      )
      if (!ok) mismatch()
      const outs = Array.from({ length: nOut }, () => new Float64Array(q.data.length))
      kernel(
        qs.map((x) => (x as Tensor).data),
        outs,
      )
      return outs.map((data): Tensor => ({ shape: [...q.shape], data }))
    }
    if (Array.isArray(q)) {
      if (!qs.every((x) => Array.isArray(x) && x.length === q.length)) mismatch()
      const cols = q.map((_, i) => go(qs.map((x) => (x as readonly Params[])[i])))
      return Array.from({ length: nOut }, (_, j) => cols.map((c) => c[j]))
    }
    const keys = ownKeys(q)
    const sameKeys = (x: Params) =>
      typeof x === 'object' &&
      !isTensor(x) &&
      !Array.isArray(x) &&
      ownKeys(x).join('\u0000') === keys.join('\u0000')
    if (!qs.every(sameKeys)) mismatch()
    const outs = Array.from({ length: nOut }, (): Record<string, Params> => ({}))
    for (const k of keys) {
      const r = go(qs.map((x) => (x as Record<string, Params>)[k]))
      for (let j = 0; j < nOut; j++) outs[j][k] = r[j]
    }
    return outs
  }
  return go(inputs)
}
