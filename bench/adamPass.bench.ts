// Adam's pass over W5's 235,146 parameters (mlp 784–256–128–10), the way the optimizer runs it
// today (scaleByAdam's fused applyTo: μ, ν and θ written into three fresh arrays a step) against
// the same loop over arrays allocated once (written in place), interleaved, CPU time: the gap
// issue 21's item 2 asks the engine to close (the optimizer is issue 14's room; this only
// measures). The same formula in both (Adam's torch/optax form, written once below).
//
// A second line, the engine's own: the kernel src/engine/wasmPass.ts compiles from scaleByAdam's rule (f64x2:
// IEEE division and square root per lane, so the bits are the JavaScript loop's), θ, μ
// and ν resident between steps, fresh copies written out (`setPassWasm('auto')`), against the
// engine's JavaScript loop (`'off'`), interleaved — the pass alone over W5's leaves (fresh arrays,
// a gradient from a rotating set of four), and in situ: the Adam stage of `train` (a fixed
// gradient handed over as the tape's, as bench/w5Phases.bench.ts times it). Same bits checked.
//
//   npx tsx bench/adamPass.bench.ts
import { loadavg } from 'node:os'
import { last, lastValueFrom, pipe, tap } from 'rxjs'
import { type Tensor, train } from 'gradstream'
import { adam, gradient, maxSteps, scaleByAdam } from 'gradstream/operators'
import { passLoop } from '../src/engine/pass.js'
import { residentPass, setPassWasm } from '../src/engine/wasmPass.js'
import { planOf } from '../src/engine/elementwise.js'
import { uninitializedF64 } from '../src/tensor/uninitialized.js'
import { handOver } from '../src/tree/handOver.js'

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

// --- the engine's pass: wasm kernel from the rule, resident, against its JavaScript loop
const rule = (planOf(scaleByAdam().transform.update) as unknown as { rule: never }).rule
const engineJs = passLoop([rule], true, [['mu', 'nu']])
const grads = [0, 1, 2, 3].map((s) => sizes.map((n, i) => fill(n, 10 * s + i + 7)))
/** `steps` engine passes over W5's leaves into fresh arrays, the wasm resident or the JS loop */
function enginePass(steps: number, wasm: boolean) {
  const resident = residentPass([rule], [['mu', 'nu']])
  let p: Float64Array[] = sizes.map((n, i) => fill(n, 99 + i))
  let mu: Float64Array[] = sizes.map((n) => new Float64Array(n))
  let nu: Float64Array[] = sizes.map((n) => new Float64Array(n))
  for (let t = 1; t <= steps; t++) {
    // the constants as scaleByAdam's prepare makes them (the same object shape)
    const k = [{ b1, b2, eps, ...{ f: 1, c1: 1 - b1 ** t, c2: 1 - b2 ** t } }]
    const gs = grads[t & 3]
    const p2: Float64Array[] = []
    const mu2: Float64Array[] = []
    const nu2: Float64Array[] = []
    for (let j = 0; j < sizes.length; j++) {
      const len = sizes[j]
      const next = [{ mu: (mu2[j] = uninitializedF64(len)), nu: (nu2[j] = uninitializedF64(len)) }]
      const old = [{ mu: mu[j], nu: nu[j] }]
      p2[j] = uninitializedF64(len)
      if (!wasm || !resident.run(j, k, old, next, p[j], gs[j], p2[j], -1e-3, len))
        engineJs(k, old, next, p[j], gs[j], p2[j], -1e-3, len)
    }
    p = p2
    mu = mu2
    nu = nu2
  }
  return [p, mu, nu]
}

const names = ['W1', 'b1', 'W2', 'b2', 'W3', 'b3']
const shapes = [[784, 256], [256], [256, 128], [128], [128, 10], [10]]
const tree = (arrays: Float64Array[]) =>
  Object.fromEntries(names.map((nm, j) => [nm, { shape: shapes[j], data: arrays[j] } as Tensor]))
const params0 = tree(sizes.map((n, i) => fill(n, 99 + i)))
const WARM = 20
/** CPU ms a step of the Adam stage of `train` (fixed rotating gradients handed over), its first WARM steps untimed */
async function stage(steps: number, mode: 'auto' | 'off') {
  setPassWasm(mode)
  let t = 0
  const fn = () => {
    const gs = grads[t++ & 3]
    return { loss: 0, grad: tree(gs.map((g) => handOver({ data: g }).data)) }
  }
  let c0 = 0
  const s = await lastValueFrom(
    train({ params: params0, step: pipe(gradient(fn), adam(1e-3)) }).pipe(
      tap((st) => {
        if (st.step === WARM) c0 = cpuNow()
      }),
      maxSteps(WARM + steps),
      last(),
    ),
  )
  setPassWasm('auto')
  return [(cpuNow() - c0) / steps, s] as const
}
function cpuNow() {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}
{
  // same bits: the engine's pass and the Adam stage, wasm and JavaScript
  const same = (x: Float64Array, y: Float64Array) => x.every((e, i) => Object.is(e, y[i]))
  const [w, j] = [enginePass(6, true), enginePass(6, false)]
  if (!w.every((xs, r) => xs.every((x, l) => same(x, j[r][l]))))
    throw new Error("adamPass: the engine's wasm pass differs from its JavaScript loop")
  const [, sw] = await stage(5, 'auto')
  const [, sj] = await stage(5, 'off')
  const leaves = (s: typeof sw) => {
    const opt = s.opt.scaleByAdam as { mu: Record<string, Tensor>; nu: Record<string, Tensor> }
    return names.flatMap((nm) => [
      (s.params as Record<string, Tensor>)[nm].data,
      opt.mu[nm].data,
      opt.nu[nm].data,
    ])
  }
  if (!leaves(sw).every((x, l) => same(x, leaves(sj)[l])))
    throw new Error('adamPass: the Adam stage with the wasm pass differs from the JavaScript one')
}
enginePass(20, true)
enginePass(20, false)
const e: Record<'wasm' | 'js' | 'stageWasm' | 'stageJs', number[]> = {
  wasm: [],
  js: [],
  stageWasm: [],
  stageJs: [],
}
const load1 = loadavg()[0]
for (let r = 0; r < 5; r++) {
  const order = r % 2 === 0 ? [true, false] : [false, true]
  for (const w of order) e[w ? 'wasm' : 'js'].push(cpu(() => enginePass(steps, w)) / steps)
  for (const w of order)
    e[w ? 'stageWasm' : 'stageJs'].push((await stage(steps, w ? 'auto' : 'off'))[0])
}
console.log(
  `  the engine's pass (kernel from scaleByAdam's rule, resident, fresh copies out) ${med(e.wasm).toFixed(2)} ` +
    `vs its JavaScript loop ${med(e.js).toFixed(2)} (${(med(e.wasm) / med(e.js)).toFixed(2)}×, same bits)`,
)
console.log(
  `  the Adam stage of train (fixed gradient): wasm ${med(e.stageWasm).toFixed(2)} vs JavaScript ` +
    `${med(e.stageJs).toFixed(2)} (${(med(e.stageWasm) / med(e.stageJs)).toFixed(2)}×); ` +
    `load ${load1.toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
)
