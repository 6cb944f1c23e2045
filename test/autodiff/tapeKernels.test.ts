import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ad,
  setKernelBackend,
  setKernelThreads,
  valueAndGrad,
  type AffineActivation,
  type Tensor,
  type Var,
} from 'gradstream'
import { closeWorkers } from 'gradstream/node'
import { RowCache, takeRows } from '../../src/tensor/gatheredRows.js'

// The tape's products run on the kernels `matmul` runs (sparse for a mostly-zero batch held
// compressed for the whole call, transposed operands read in place, bias + activation fused,
// buffers reused from call to call). Each sum there runs over the same terms in the same order
// as the textbook loops below, so the results agree to the bit; the bound allowed is the one for
// any order of summation, γₖ·Σ|terms| with γₖ ≈ k·ε (Higham, Accuracy and Stability, §3.1), plus
// 4ε·|value| for the elementwise steps (a bias add, an activation, the product with g).
const EPS = 2 ** -52

/** The textbook triple loop: op(A)·op(B) (A m×k after op, B k×n after op) and Σ|terms|. */
function loops(
  A: Float64Array,
  B: Float64Array,
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
): { c: Float64Array; mag: Float64Array } {
  const c = new Float64Array(m * n)
  const mag = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      let a = 0
      for (let p = 0; p < k; p++) {
        const t = (transA ? A[p * m + i] : A[i * k + p]) * (transB ? B[j * k + p] : B[p * n + j])
        s += t
        a += Math.abs(t)
      }
      c[i * n + j] = s
      mag[i * n + j] = a
    }
  return { c, mag }
}

/** Indices where `got` is off `want` by more than 2k·ε·mag + 4ε·|want| (expected: none). */
function offBound(got: Float64Array, want: Float64Array, mag: Float64Array, k: number): number[] {
  const off: number[] = []
  for (let q = 0; q < want.length; q++) {
    const tol = 2 * k * EPS * mag[q] + 4 * EPS * Math.abs(want[q])
    if (!(Math.abs(got[q] - want[q]) <= tol)) off.push(q)
  }
  return off
}

const act = {
  identity: (z: number) => z,
  relu: (z: number) => (z > 0 ? z : 0),
  sigmoid: (z: number) => 1 / (1 + Math.exp(-z)),
  tanh: (z: number) => Math.tanh(z),
} as const
/** act′ from the activation's output y */
const actBack = {
  identity: () => 1,
  relu: (y: number) => (y > 0 ? 1 : 0),
  sigmoid: (y: number) => (1 - y) * y,
  tanh: (y: number) => 1 - y * y,
} as const

/** A small LCG from a drawn seed (no Math.random). */
function filler(seed: number) {
  let s = seed
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  return (len: number, density = 1) =>
    Float64Array.from({ length: len }, () => (next() < density ? next() * 2 - 1 : 0))
}

interface Layer {
  m: number
  k: number
  n: number
  density: number
  activation: AffineActivation
  xTrained: boolean
  seed: number
}

const layer: fc.Arbitrary<Layer> = fc.record({
  m: fc.integer({ min: 1, max: 20 }),
  k: fc.integer({ min: 1, max: 100 }),
  n: fc.integer({ min: 1, max: 20 }),
  density: fc.constantFrom(0.05, 0.2, 1),
  activation: fc.constantFrom<AffineActivation>('identity', 'relu', 'sigmoid', 'tanh'),
  xTrained: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
})

/** L = Σ act(x·W + b) ⊙ c through ad.affine, and the same by the loops. */
function check({ m, k, n, density, activation, xTrained, seed }: Layer, gathered = false): void {
  const fill = filler(seed)
  const source: Tensor = { shape: [m + 3, k], data: fill((m + 3) * k, density) }
  // the batch: rows 3… of a data set, drawn compressed (as the samplers draw) or dense
  const pick = Int32Array.from({ length: m }, (_, i) => i + 3)
  const x: Tensor = gathered
    ? takeRows(source, pick, 0, m, new RowCache(source.data, m + 3, k))
    : { shape: [m, k], data: source.data.slice(3 * k) }
  const xd = source.data.slice(3 * k)
  const W: Tensor = { shape: [k, n], data: fill(k * n) }
  const b: Tensor = { shape: [n], data: fill(n) }
  const c: Tensor = { shape: [m, n], data: fill(m * n) }
  const f = (p: { W: Var; b: Var; x?: Var }, batch: Tensor) =>
    ad.sum(ad.mul(ad.affine(p.x ?? batch, p.W, p.b, activation), c))
  const vg = valueAndGrad(f)
  const params: { W: Tensor; b: Tensor; x?: Tensor } = { W, b }
  if (xTrained) params.x = { shape: [m, k], data: xd }
  const got = vg(params as { W: Tensor; b: Tensor }, x) as {
    value: number
    grad: { W: Tensor; b: Tensor; x?: Tensor }
  }

  const z = loops(xd, W.data, m, k, n)
  const y = z.c.map((v, q) => act[activation](v + b.data[q % n]))
  const delta = y.map((v, q) => c.data[q] * actBack[activation](v))
  // δ's own bound: z's error through the activation (Lipschitz ≤ 1) and g's product
  const gW = loops(xd, delta, k, m, n, true)
  const gx = loops(delta, W.data, m, n, k, false, true)
  expect(offBound(got.grad.W.data, gW.c, gW.mag, m + k)).toEqual([])
  const gb = new Float64Array(n)
  const gbMag = new Float64Array(n)
  delta.forEach((v, q) => ((gb[q % n] += v), (gbMag[q % n] += Math.abs(v))))
  expect(offBound(got.grad.b.data, gb, gbMag, m + k)).toEqual([])
  if (xTrained) {
    expect(offBound(got.grad.x!.data, gx.c, gx.mag, n + k)).toEqual([])
  }
  let L = 0
  let Lmag = 0
  y.forEach((v, q) => ((L += v * c.data[q]), (Lmag += Math.abs(v * c.data[q]))))
  expect(Math.abs(got.value - L)).toBeLessThanOrEqual(2 * (m * n + k) * EPS * Lmag + 1e-300)
}

describe.each(['wasm', 'js'] as const)('the tape on the %s kernels', (backend) => {
  afterAll(() => setKernelBackend('auto'))

  it('ad.affine: value and ∂x, ∂W, ∂b equal the textbook loops (sparse and dense batches)', () => {
    setKernelBackend(backend)
    fc.assert(fc.property(layer, (l) => check(l)))
  })

  it('a batch drawn as compressed rows gives the dense batch’s results', () => {
    setKernelBackend(backend)
    fc.assert(fc.property(layer, (l) => check({ ...l, xTrained: false }, true)))
  })

  it('ad.matmul of two matrices: A·B, G·Bᵀ and Aᵀ·G equal the loops', () => {
    setKernelBackend(backend)
    fc.assert(
      fc.property(layer, ({ m, k, n, density, seed }) => {
        const fill = filler(seed)
        const A: Tensor = { shape: [m, k], data: fill(m * k, density) }
        const B: Tensor = { shape: [k, n], data: fill(k * n) }
        const G: Tensor = { shape: [m, n], data: fill(m * n) }
        const { grad, value } = valueAndGrad((p: { A: Var; B: Var }) =>
          ad.sum(ad.mul(ad.matmul(p.A, p.B), G)),
        )({ A, B }, null)
        const gA = loops(G.data, B.data, m, n, k, false, true)
        const gB = loops(A.data, G.data, k, m, n, true)
        expect(offBound(grad.A.data, gA.c, gA.mag, n)).toEqual([])
        expect(offBound(grad.B.data, gB.c, gB.mag, m)).toEqual([])
        const Y = loops(A.data, B.data, m, k, n)
        let L = 0
        let mag = 0
        Y.c.forEach((v, q) => ((L += v * G.data[q]), (mag += Y.mag[q] * Math.abs(G.data[q]))))
        expect(Math.abs(value - L)).toBeLessThanOrEqual(2 * (m * n + k) * EPS * mag + 1e-300)
      }),
    )
  })
})

describe('a batch drawn as compressed rows, on the wasm kernels', () => {
  afterAll(() => setKernelBackend('auto'))

  it('is never expanded to its dense rows by a training step (an MNIST-sized first layer)', () => {
    setKernelBackend('wasm')
    const [m, k, n] = [100, 784, 50]
    const fill = filler(11)
    const rows = fill((m + 3) * k, 0.2)
    // the data set counts reads of its data: building the batch's dense rows reads it
    let reads = 0
    const source = {
      shape: [m + 3, k],
      get data() {
        reads++
        return rows
      },
    }
    const pick = Int32Array.from({ length: m }, (_, i) => i + 3)
    const x = takeRows(source, pick, 0, m, new RowCache(rows, m + 3, k))
    const p = { W: { shape: [k, n], data: fill(k * n) }, b: { shape: [n], data: fill(n) } }
    const f = (q: { W: Var; b: Var }, batch: Tensor) =>
      ad.sum(ad.affine(batch, q.W, q.b, 'sigmoid'))
    reads = 0
    const got = valueAndGrad(f)(p, x)
    expect(reads).toBe(0)
    // the same gradient as the dense batch's
    const dense = valueAndGrad(f)(p, { shape: [m, k], data: rows.slice(3 * k) })
    expect(got.grad.W.data).toEqual(dense.grad.W.data)
    expect(got.value).toBe(dense.value)
  })
})

describe('tape buffers reused from call to call', () => {
  it('a second call leaves the first call’s results as they were, and equals a fresh tape', () => {
    fc.assert(
      fc.property(layer, layer, (l1, l2) => {
        const fill = filler(l1.seed)
        const { m, k, n } = l1
        const x: Tensor = { shape: [m, k], data: fill(m * k, l1.density) }
        const f = (p: { W: Var; b: Var }, s: number) =>
          ad.sum(ad.mul(ad.affine(x, p.W, p.b, l1.activation), s))
        const p1 = { W: { shape: [k, n], data: fill(k * n) }, b: { shape: [n], data: fill(n) } }
        const p2 = { W: { shape: [k, n], data: fill(k * n) }, b: { shape: [n], data: fill(n) } }
        const vg = valueAndGrad(f)
        const first = vg(p1, 1)
        const copy = { W: first.grad.W.data.slice(), b: first.grad.b.data.slice() }
        const second = vg(p2, l2.seed % 2 === 0 ? 2 : -1)
        expect(first.grad.W.data).toEqual(copy.W)
        expect(first.grad.b.data).toEqual(copy.b)
        const fresh = valueAndGrad(f)(p2, l2.seed % 2 === 0 ? 2 : -1)
        expect(second.grad.W.data).toEqual(fresh.grad.W.data)
        expect(second.value).toBe(fresh.value)
      }),
    )
  })
})

describe('two kernel threads', () => {
  afterAll(async () => {
    setKernelThreads('auto')
    await closeWorkers()
  })

  it('a layer large enough to split gives the one-thread bits', () => {
    // 256×784·784×256 (MNIST's first layer) is past the split thresholds of setKernelThreads(2)
    const l = { m: 256, k: 784, n: 256, density: 0.2, activation: 'relu' as const, seed: 7 }
    const fill = filler(l.seed)
    const x: Tensor = { shape: [l.m, l.k], data: fill(l.m * l.k, l.density) }
    const p = {
      W: { shape: [l.k, l.n], data: fill(l.k * l.n) },
      b: { shape: [l.n], data: fill(l.n) },
    }
    const f = (q: { W: Var; b: Var }) => ad.sum(ad.affine(x, q.W, q.b, l.activation))
    setKernelThreads(1)
    const one = valueAndGrad(f)(p, null)
    setKernelThreads(2)
    const two = valueAndGrad(f)(p, null)
    expect(two.value).toBe(one.value)
    expect(two.grad.W.data).toEqual(one.grad.W.data)
    expect(two.grad.b.data).toEqual(one.grad.b.data)
  })
})
