import { show } from '../errors.js'
import { sizeOf, type Tensor } from '../tensor/tensor.js'
import { scratch } from './tapeMemory.js'

/**
 * A node of the reverse-mode tape: a value computed by a gradstream op, the nodes it was
 * computed from, and for each of them the vector–Jacobian product that carries this node's
 * gradient back to it (micrograd's `_backward`, one closure per parent). A `Var` never changes
 * after it is made; gradients live in the map `backward` returns, so a graph can be
 * differentiated twice without reset.
 */
export class Var {
  constructor(
    readonly value: Tensor,
    /** the inputs this node was computed from */
    readonly parents: readonly Var[] = [],
    /** `vjps[i](g)`: ∂L/∂parents[i] given g = ∂L/∂this, in parents[i]'s shape */
    readonly vjps: readonly ((g: Tensor) => Tensor)[] = [],
    /** false for constants (data): no gradient flows into or through them */
    readonly requiresGrad: boolean = Array.isArray(parents) &&
      parents.some((p) => p instanceof Var && p.requiresGrad),
  ) {
    checkNode(value, parents, vjps, requiresGrad)
  }

  get shape(): readonly number[] {
    return this.value.shape
  }
}

/** A node's parts as `Var` needs them, or a TypeError naming the part, its value and what was expected. */
function checkNode(value: unknown, parents: unknown, vjps: unknown, requiresGrad: unknown): void {
  // the shape only: a gathered batch's `data` is a getter that would build its dense rows
  if (typeof value !== 'object' || value === null || !Array.isArray((value as Tensor).shape))
    throw new TypeError(`Var: value: expected a Tensor, got ${show(value)}`)
  if (!Array.isArray(parents) || !parents.every((p) => p instanceof Var))
    throw new TypeError(`Var: parents: expected an array of Var, got ${show(parents)}`)
  if (
    !Array.isArray(vjps) ||
    vjps.length !== parents.length ||
    !vjps.every((f) => typeof f === 'function')
  ) {
    throw new TypeError(
      `Var: vjps: expected ${parents.length} functions (one per parent), got ${show(vjps)}`,
    )
  }
  if (typeof requiresGrad !== 'boolean')
    throw new TypeError(`Var: requiresGrad: expected a boolean, got ${show(requiresGrad)}`)
}

/** A differentiable leaf (a parameter). */
export const param = (value: Tensor): Var => new Var(value, [], [], true)

/** A constant (input data, targets). */
export const constant = (value: Tensor): Var => new Var(value, [], [], false)

/** ∂out/∂v for the nodes `backward` reached: undefined for any other. */
export interface Gradients {
  get(v: Var): Tensor | undefined
}

/**
 * Up to this many nodes `backward` keeps its nodes in arrays searched in order; past it, a Set
 * and a Map (a training step's graph is a handful of nodes made anew every call: hashing each
 * fresh node into a Set and a Map cost more than the searches).
 */
const FEW = 32

/**
 * Back-propagates from `out` (∂out/∂out = `seed`, ones by default): visits the graph in reverse
 * topological order (an explicit stack, so deep graphs do not overflow), summing each node's
 * contributions, and returns ∂out/∂v for every node that requires a gradient.
 */
export function backward(out: Var, seed?: Tensor): Gradients {
  // a depth-first post-order of the nodes that require a gradient: `out` last
  const order: Var[] = []
  const seenList: Var[] = [out]
  let seen: Set<Var> | null = null
  const stack: Var[] = [out]
  const next: number[] = [0]
  while (stack.length > 0) {
    const top = stack.length - 1
    const node = stack[top]
    const i = next[top]
    if (i < node.parents.length) {
      next[top] = i + 1
      const p = node.parents[i]
      if (!p.requiresGrad) continue
      if (seen === null) {
        if (seenList.includes(p)) continue
        seenList.push(p)
        if (seenList.length > FEW) seen = new Set(seenList)
      } else if (seen.has(p)) continue
      else seen.add(p)
      stack.push(p)
      next.push(0)
    } else {
      stack.pop()
      next.pop()
      order.push(node)
    }
  }
  const places = order.length > FEW ? new Map(order.map((v, k) => [v, k])) : null
  const grads: (Tensor | undefined)[] = order.map(() => undefined)
  grads[order.length - 1] = seed ?? {
    shape: [...out.shape],
    data: scratch(sizeOf(out.shape)).fill(1),
  }
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]
    const g = grads[k]
    if (g === undefined) continue
    for (let i = 0; i < node.parents.length; i++) {
      const p = node.parents[i]
      if (!p.requiresGrad) continue
      const contribution = node.vjps[i](g)
      const j = placeOf(order, places, p)
      const prev = grads[j]
      if (prev === undefined) grads[j] = contribution
      else {
        // a fresh buffer: contributions may share data with other tensors (reshape views)
        const sum = scratch(prev.data.length)
        for (let q = 0; q < sum.length; q++) sum[q] = prev.data[q] + contribution.data[q]
        grads[j] = { shape: prev.shape, data: sum }
      }
    }
  }
  // a method, not a named closure (tsx names those as they are made: valueAndGrad.ts' Walk)
  return {
    get(v) {
      const j = placeOf(order, places, v)
      return j < 0 ? undefined : grads[j]
    },
  }
}

/** `v`'s place in `order` (its index in `places` past {@link FEW} nodes), or −1. */
function placeOf(order: Var[], places: Map<Var, number> | null, v: Var): number {
  return places === null ? order.indexOf(v) : (places.get(v) ?? -1)
}
