// Adam's pass over W5's 235,146 parameters (mlp 784–256–128–10), the way the optimizer runs it
// today (scaleByAdam's fused applyTo: μ, ν and θ written into three fresh arrays a step) against
// the same loop over arrays allocated once (written in place), interleaved, CPU time: the gap
// issue 21's item 2 asks the engine to close (the optimizer is issue 14's room; this only
// measures). The same formula in both (Adam's torch/optax form, written once below).
//
//   npx tsx bench/adamPass.bench.ts
import { loadavg } from 'node:os'
import { uninitializedF64 } from '../src/tensor/uninitialized.js'

/** Adam's moments and update on one leaf (torch/optax form, as scaleByAdam states it). */
function adamLeaf(
  m0: Float64Array,
  n0: Float64Array,
  g: Float64Array,
  m: Float64Array,
  n: Float64Array,
  o: Float64Array,
  b1: number,
  b2: number,
  eps: number,
  c1: number,
  c2: number,
): void {
  for (let i = 0; i < m.length; i++) {
    const gi = g[i]
    const mi = b1 * m0[i] + (1 - b1) * gi
    const ni = b2 * n0[i] + (1 - b2) * gi * gi
    m[i] = mi
    n[i] = ni
    o[i] = mi / c1 / (Math.sqrt(ni / c2) + eps)
  }
}

const sizes = [784 * 256, 256, 256 * 128, 128, 128 * 10, 10]
const fill = (n: number, seed: number) => {
  let s = seed
  return Float64Array.from(
    { length: n },
    () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5,
  )
}
const g = sizes.map((n, i) => fill(n, i + 1))
const b1 = 0.9
const b2 = 0.999
const eps = 1e-8

/** `steps` Adam passes, each writing μ, ν and the update into fresh arrays (as the stage does). */
function fresh(steps: number) {
  let m: Float64Array[] = sizes.map((n) => new Float64Array(n))
  let v: Float64Array[] = sizes.map((n) => new Float64Array(n))
  for (let t = 1; t <= steps; t++) {
    const c1 = 1 - b1 ** t
    const c2 = 1 - b2 ** t
    const m2 = sizes.map((n) => uninitializedF64(n))
    const v2 = sizes.map((n) => uninitializedF64(n))
    const o = sizes.map((n) => uninitializedF64(n))
    for (let j = 0; j < sizes.length; j++)
      adamLeaf(m[j], v[j], g[j], m2[j], v2[j], o[j], b1, b2, eps, c1, c2)
    m = m2
    v = v2
  }
}

/** The same passes into arrays allocated once (μ and ν in place, one update buffer). */
function inPlace(steps: number) {
  const m = sizes.map((n) => new Float64Array(n))
  const v = sizes.map((n) => new Float64Array(n))
  const o = sizes.map((n) => new Float64Array(n))
  for (let t = 1; t <= steps; t++) {
    const c1 = 1 - b1 ** t
    const c2 = 1 - b2 ** t
    for (let j = 0; j < sizes.length; j++)
      adamLeaf(m[j], v[j], g[j], m[j], v[j], o[j], b1, b2, eps, c1, c2)
  }
}

const cpu = (f: () => void) => {
  const c0 = process.cpuUsage()
  f()
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1000
}
const steps = 200
fresh(20)
inPlace(20)
const a: number[] = []
const b: number[] = []
for (let r = 0; r < 5; r++) {
  a.push(cpu(() => fresh(steps)) / steps)
  b.push(cpu(() => inPlace(steps)) / steps)
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]
console.log(
  `Adam over 235,146 parameters, CPU ms per step (median of 5 × ${steps} steps, load ${loadavg()[0].toFixed(1)}): ` +
    `fresh arrays ${med(a).toFixed(2)}, in place ${med(b).toFixed(2)} (${(med(a) / med(b)).toFixed(2)}×)`,
)
