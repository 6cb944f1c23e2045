/**
 * The matrix-product kernels on training's shapes: GFLOP/s (2·m·k·n per product, as if dense)
 * of the naive i-k-j loop, the blocked JavaScript kernel, the WebAssembly SIMD kernel, and the
 * sparse paths at MNIST-like density, for `A·B`, `Aᵀ·B` and `A·Bᵀ`. Self-contained (no peers):
 * `npx tsx bench/kernels.bench.ts`; `npm run bench` runs it once and keeps its table. Justifies
 * WASM_MIN_WORK and SPARSE_MAX_DENSITY in src/tensor/kernels/gemmKernel.ts, and (its second
 * table) WASM_MIN_LENGTH in addScaledKernel.ts.
 *
 * Its third table: each product W5, W3 and W6 run, on the wasm kernels alone (operands already in
 * linear memory, packing included, copies in and out not), in multiply-adds per second (the
 * non-zeros × n for the sparse ones) against this machine's peak for f64x2 multiply + add in wasm
 * (a loop of the product kernels' 4×4 block on numbers in L1), CPU time.
 *
 *   npx tsx bench/kernels.bench.ts            all three tables
 *   npx tsx bench/kernels.bench.ts --shapes   the third only
 *   npx tsx bench/kernels.bench.ts --ab REF   the third for REF's compiled kernels
 *                                             (git show REF:src/tensor/kernels/wasmBinary.ts)
 *                                             and this tree's, interleaved round by round
 */
import { execFileSync } from 'node:child_process'
import { loadavg } from 'node:os'
import asc from 'assemblyscript/asc'
import { WASM_BASE64 } from '../src/tensor/kernels/wasmBinary.js'
import type { KernelExports } from '../src/tensor/kernels/wasmKernels.js'
import { gemmDenseJs } from '../src/tensor/kernels/jsKernels.js'
import { gemmKernel, type SparseMode } from '../src/tensor/kernels/gemmKernel.js'
import { addScaledJs } from '../src/tensor/kernels/addScaledKernel.js'
import { addScaledWasm, gemmDenseWasm } from '../src/tensor/kernels/wasmKernels.js'
import { setKernelBackend } from '../src/tensor/kernels/setKernelBackend.js'

let seed = 12345
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32
const fill = (len: number, density: number) =>
  Float64Array.from({ length: len }, () => (rand() < density ? rand() - 0.5 : 0))

function naive(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number) {
  C.fill(0)
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p]
      for (let j = 0; j < n; j++) C[i * n + j] += a * B[p * n + j]
    }
}

/** Median GFLOP/s over 5 timed batches of enough calls to last ~40 ms each. */
function gflops(run: () => void, flops: number): number {
  run()
  let calls = 1
  for (let t0 = performance.now(); performance.now() - t0 < 40; calls++) run()
  const rates: number[] = []
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now()
    for (let c = 0; c < calls; c++) run()
    rates.push((flops * calls) / ((performance.now() - t0) / 1000) / 1e9)
  }
  return rates.sort((a, b) => a - b)[2]
}

function generalTables(): void {
  const shapes: [string, number, number, number, boolean, boolean, number][] = [
    // name, m, k, n, transA, transB, density of A
    ['x·W1 forward (100×784·784×50)', 100, 784, 50, false, false, 0.19],
    ['xᵀ·δ1 backward (784×100·100×50)', 784, 100, 50, true, false, 0.19],
    ['δ2·W2ᵀ backward (100×10·10×50)', 100, 10, 50, false, true, 1],
    ['z1ᵀ·δ2 backward (50×100·100×10)', 50, 100, 10, true, false, 1],
    ['dense 100×784·784×50', 100, 784, 50, false, false, 1],
    ['mlp h1·W2 (128×256·256×128)', 128, 256, 128, false, false, 0.5],
    ['small 8×8·8×8', 8, 8, 8, false, false, 1],
  ]

  const rows: string[] = []
  for (const [name, m, k, n, tA, tB, density] of shapes) {
    const A = fill(m * k, density)
    const B = fill(k * n, 1)
    const C = new Float64Array(m * n)
    const f = 2 * m * k * n
    const via = (backend: 'js' | 'wasm', mode: SparseMode) => () => {
      setKernelBackend(backend)
      return gflops(() => gemmKernel(A, B, C, m, k, n, tA, tB, mode), f)
    }
    const cells = [
      !tA && !tB ? gflops(() => naive(A, B, C, m, k, n), f) : NaN,
      gflops(() => gemmDenseJs(A, B, C, m, k, n, tA, tB), f),
      gflops(() => gemmDenseWasm(A, B, C, m, k, n, tA, tB), f),
      via('js', 'always')(),
      via('wasm', 'always')(),
      via('wasm', 'auto')(),
    ]
    rows.push(
      `| ${name} | ${density} | ${cells.map((c) => (Number.isNaN(c) ? '–' : c.toFixed(2))).join(' | ')} |`,
    )
  }
  setKernelBackend('auto')
  console.log('GFLOP/s (2·m·k·n per product, counted as dense; median of 5)')
  console.log(
    '| product | density of A | naive | js blocked | wasm SIMD | js sparse | wasm sparse | matmul (auto) |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rows) console.log(r)

  // The update's p + a·u (src/tensor/kernels/addScaledKernel.ts) into a fresh array, as the
  // update stage calls it: the JavaScript loop against the wasm kernel (copies in and out
  // included), by length — where the two cross justifies WASM_MIN_LENGTH.
  const axpyRows: string[] = []
  for (const len of [512, 1024, 2048, 4096, 8192, 39_200]) {
    const x = fill(len, 1)
    const y = fill(len, 1)
    const viaAxpy = (backend: 'js' | 'wasm') => {
      setKernelBackend(backend)
      // 2 flops an entry; addScaledData takes the wasm path only from WASM_MIN_LENGTH on, so the
      // kernels are called directly here
      return gflops(() => {
        const out = new Float64Array(len)
        if (backend === 'wasm') addScaledWasm(x, y, -0.1, out)
        else addScaledJs(x, y, -0.1, out)
      }, 2 * len)
    }
    const js = viaAxpy('js')
    const wasm = viaAxpy('wasm')
    axpyRows.push(`| ${len} | ${js.toFixed(2)} | ${wasm.toFixed(2)} | ${(wasm / js).toFixed(2)}× |`)
  }
  setKernelBackend('auto')
  console.log('\nGFLOP/s of p + a·u into a new array (2 flops an entry; median of 5)')
  console.log('| length | JavaScript | wasm SIMD (copies included) | wasm / JS |')
  console.log('| ---: | ---: | ---: | ---: |')
  for (const r of axpyRows) console.log(r)
}

/** One product as the library runs it: `macs` multiply-adds (non-zeros × n for sparse ones). */
interface Product {
  readonly name: string
  readonly kernel: string
  readonly macs: number
  readonly run: () => void
}

type Exports = KernelExports

/** Instantiates a base64 module with its own memory of at least `bytes`. */
function instantiate(base64: string, bytes = 64 << 20): Exports {
  const bin = Buffer.from(base64, 'base64')
  const w = new WebAssembly.Instance(new WebAssembly.Module(bin), {}).exports as unknown as Exports
  const have = w.memory.buffer.byteLength
  if (have < bytes) w.memory.grow(Math.ceil((bytes - have) / 65536))
  return w
}

/** The W5 / W3 / W6 products laid out in `w`'s memory from byte 65,536 (same inputs per module). */
function products(w: Exports): Product[] {
  seed = 4242
  let top = 65536
  const f64 = new Float64Array(w.memory.buffer)
  const take = (count: number, fill?: (i: number) => number): number => {
    const at = top
    top += (count * 8 + 15) & ~15
    if (fill) for (let i = 0; i < count; i++) f64[(at >> 3) + i] = fill(i)
    return at
  }
  const dense = (count: number) => take(count, () => rand() - 0.5)
  // an image-like batch: ~19% non-zero (MNIST's share), compressed as the held batch is
  const sparse = (m: number, k: number) => {
    const a = take(m * k, () => (rand() < 0.19 ? rand() : 0))
    const rp = take(m + 1)
    const ci = take(m * k + k)
    const v = take(m * k + k)
    const nnz = w.csrRows(a, m, k, m * k, rp, ci, v)
    const trp = take(k + 1)
    const tci = take(m * k + k)
    const tv = take(m * k + k)
    w.csrTranspose(rp, ci, v, m, k, trp, tci, tv)
    return { rp, ci, v, trp, tci, tv, nnz }
  }
  const out: Product[] = []
  const add = (name: string, kernel: string, macs: number, run: () => void) =>
    out.push({ name, kernel, macs, run })
  // dense C = op(A)·op(B) exactly as gemmDenseWasm runs it for these shapes (packs or not)
  const plain = (name: string, m: number, k: number, n: number, transA: boolean) => {
    const a = dense(m * k)
    const b = dense(k * n)
    const c = take(m * n)
    const sai = transA ? 1 : k
    const sap = transA ? m : 1
    add(name, 'gemm', m * k * n, () => w.gemm(a, b, c, m, k, n, sai, sap))
  }
  const packed = (name: string, m: number, k: number, n: number, tA: boolean, tB: boolean) => {
    const a = dense(m * k)
    const b = dense(k * n)
    const c = take(m * n)
    const pk = take(k * n)
    const pka = tA ? take(m * k) : 0
    const [sai, sap, sbp, sbj] = [tA ? 1 : k, tA ? m : 1, tB ? 1 : n, tB ? k : 1]
    add(name, tA ? 'packB+packA+gemmPacked' : 'packB+gemmPacked', m * k * n, () => {
      w.packB(b, k, n, sbp, sbj, pk)
      if (pka !== 0) w.packA(a, m, k, sai, sap, pka)
      w.gemmPacked(a, pka, pk, b, c, m, k, n, sai, sap, sbp, sbj)
    })
  }
  // the held batch's products: rows ldb numbers apart (gemmHeldWasm's paddedStride)
  const held = (label: string, m: number, k: number, n: number, ldb: number) => {
    const x = sparse(m, k)
    const w1 = dense(k * ldb)
    const z = take(m * n)
    const d = dense(m * ldb)
    const g = take(k * n)
    const kern = ldb === n ? 'gemmCsr' : 'gemmCsrLd'
    add(`${label} x·W1 (${m}×${k} sparse · ${k}×${n})`, kern, x.nnz * n, () =>
      w.gemmCsrLd(x.rp, x.ci, x.v, w1, z, m, n, ldb),
    )
    add(`${label} xᵀ·δ1 (${k}×${m} sparse · ${m}×${n})`, kern, x.nnz * n, () =>
      w.gemmCsrLd(x.trp, x.tci, x.tv, d, g, k, n, ldb),
    )
  }
  held('W5', 128, 784, 256, 260)
  plain('W5 h1·W2 (128×256 · 256×128)', 128, 256, 128, false)
  plain('W5 h2·W3 (128×128 · 128×10)', 128, 128, 10, false)
  plain('W5 δ3·W3ᵀ (128×10 · 10×128)', 128, 10, 128, false)
  plain('W5 h2ᵀ·δ3 (128×128ᵀ · 128×10)', 128, 128, 10, true)
  packed('W5 δ2·W2ᵀ (128×128 · 128×256)', 128, 128, 256, false, true)
  packed('W5 h1ᵀ·δ2 (256×128ᵀ · 128×128)', 256, 128, 128, true, false)
  held('W3', 100, 784, 50, 50)
  plain('W3 z1·W2 (100×50 · 50×10)', 100, 50, 10, false)
  plain('W3 z1ᵀ·δ2 (50×100ᵀ · 100×10)', 50, 100, 10, true)
  plain('W3 δ2·W2ᵀ (100×10 · 10×50)', 100, 10, 50, false)
  packed('W6 h1·W2 (256×1024 · 1024×1024)', 256, 1024, 1024, false, false)
  packed('W6 h1ᵀ·δ2 (1024×256ᵀ · 256×1024)', 1024, 256, 1024, true, false)
  if (top > w.memory.buffer.byteLength) throw new RangeError('kernelShapes: memory too small')
  return out
}

const PEAK_SOURCE = `
// 8 independent f64x2 accumulators, 8 multiplies and 8 adds per 6 loads from L1, pointers
// stepped as gemmPacked steps them: the product kernels' 4×4 block with nothing else in the loop.
export function peak(buf: usize, reps: i32): f64 {
  let s0 = f64x2.splat(0); let s1 = f64x2.splat(0); let s2 = f64x2.splat(0); let s3 = f64x2.splat(0)
  let s4 = f64x2.splat(0); let s5 = f64x2.splat(0); let s6 = f64x2.splat(0); let s7 = f64x2.splat(0)
  for (let r = 0; r < reps; r++) {
    let p = buf
    let q = buf + 2048
    for (let i = 0; i < 64; i++) {
      const y0 = v128.load(p)
      const y1 = v128.load(p, 16)
      const x0 = v128.load64_splat(q)
      s0 = f64x2.add(s0, f64x2.mul(x0, y0))
      s1 = f64x2.add(s1, f64x2.mul(x0, y1))
      const x1 = v128.load64_splat(q, 8)
      s2 = f64x2.add(s2, f64x2.mul(x1, y0))
      s3 = f64x2.add(s3, f64x2.mul(x1, y1))
      const x2 = v128.load64_splat(q, 16)
      s4 = f64x2.add(s4, f64x2.mul(x2, y0))
      s5 = f64x2.add(s5, f64x2.mul(x2, y1))
      const x3 = v128.load64_splat(q, 24)
      s6 = f64x2.add(s6, f64x2.mul(x3, y0))
      s7 = f64x2.add(s7, f64x2.mul(x3, y1))
      p += 32
      q += 32
    }
  }
  const s = f64x2.add(f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3)), f64x2.add(f64x2.add(s4, s5), f64x2.add(s6, s7)))
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)
}
`

/** CPU seconds of `fn()` (process.cpuUsage: all threads). */
function cpu(fn: () => void): number {
  const c0 = process.cpuUsage()
  fn()
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1e6
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

/** The peak loop as a product, timed with the others (multiply-adds per second, CPU). */
async function peakProduct(): Promise<Product> {
  const r = await asc.compileString(PEAK_SOURCE, {
    optimizeLevel: 3,
    noAssert: true,
    runtime: 'stub',
    enable: ['simd'],
  } as Parameters<typeof asc.compileString>[1])
  if (!r.binary) throw new Error(`kernels.bench: asc failed: ${String(r.stderr)}`)
  const e = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(r.binary)), {}).exports
  const mem = e.memory as WebAssembly.Memory
  if (mem.buffer.byteLength < 65536) mem.grow(1)
  new Float64Array(mem.buffer, 0, 8192).fill(1e-3)
  const peak = e.peak as (buf: number, iters: number) => number
  const reps = 64
  return {
    name: 'peak: f64x2 mul+add, the 4×4 block on numbers in L1',
    kernel: 'bench (asc)',
    macs: 16 * 64 * reps,
    run: () => void peak(0, reps),
  }
}

interface ShapeRate {
  readonly name: string
  readonly kernel: string
  readonly macs: number
  /** per module: CPU seconds per product (median over rounds) */
  readonly seconds: number[]
}

/**
 * Each product on each module, interleaved: `rounds` rounds, each running every module's product
 * (order alternating) for ~`ms` ms of calls; medians of CPU seconds per product.
 */
function shapeRates(
  peak: Product,
  modules: Exports[],
  rounds = 9,
  ms = 15,
  only: (name: string) => boolean = () => true,
): ShapeRate[] {
  const sets = modules.map((w) => [peak, ...products(w).filter((p) => only(p.name))])
  // tier every kernel up (V8 compiles wasm with Liftoff first, TurboFan once hot)
  for (const set of sets)
    for (const p of set) for (let t0 = performance.now(); performance.now() - t0 < 60;) p.run()
  return sets[0].map((p0, s) => {
    const t0 = performance.now()
    let calls = 0
    for (; performance.now() - t0 < ms; calls++) p0.run()
    const per: number[][] = modules.map(() => [])
    for (let r = 0; r < rounds; r++) {
      const order = modules.map((_, i) => i)
      if (r % 2 === 1) order.reverse()
      for (const i of order) {
        const run = sets[i][s].run
        per[i].push(
          cpu(() => {
            for (let c = 0; c < calls; c++) run()
          }) / calls,
        )
      }
    }
    return { name: p0.name, kernel: p0.kernel, macs: p0.macs, seconds: per.map(median) }
  })
}

/** The kernels compiled at git `ref` (its committed wasmBinary.ts), as base64. */
function moduleAt(ref: string): string {
  const text = execFileSync('git', ['show', `${ref}:src/tensor/kernels/wasmBinary.ts`], {
    encoding: 'utf8',
  })
  return [...text.matchAll(/'([A-Za-z0-9+/=]+)'/g)].map((m) => m[1]).join('')
}

/** Prints the per-shape table: this tree's kernels, or `ref`'s and this tree's side by side. */
async function shapeTable(ref?: string): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')
  const started = `${new Date().toISOString().slice(11, 16)} UTC, load ${load()}`
  const bases = ref === undefined ? [WASM_BASE64] : [moduleAt(ref), WASM_BASE64]
  const [peak, ...rates] = shapeRates(
    await peakProduct(),
    bases.map((b) => instantiate(b)),
  )
  const g = (macs: number, s: number) => (macs / s / 1e9).toFixed(2)
  const peakRate = peak.macs / peak.seconds[0]
  const pc = (macs: number, s: number) => `${((100 * macs) / s / peakRate).toFixed(0)}%`
  console.log(
    `\nProducts as W5, W3 and W6 run them, wasm kernels alone (CPU, medians of rounds interleaved ` +
      `with the peak loop; ${started} → ${load()}): peak f64x2 mul+add ${g(peak.macs, peak.seconds[0])} G/s`,
  )
  if (ref === undefined) {
    console.log('| product | kernel | multiply-adds | µs | G multiply-adds/s | of peak |')
    console.log('| --- | --- | ---: | ---: | ---: | ---: |')
    for (const r of rates) {
      const [s] = r.seconds
      const macs = `${(r.macs / 1e6).toFixed(2)} M`
      console.log(
        `| ${r.name} | ${r.kernel} | ${macs} | ${(s * 1e6).toFixed(1)} | ${g(r.macs, s)} | ${pc(r.macs, s)} |`,
      )
    }
    return
  }
  console.log(`| product | ${ref} µs | this tree µs | ${ref} G/s | this tree G/s | new/old |`)
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rates) {
    const [a, b] = r.seconds
    console.log(
      `| ${r.name} | ${(a * 1e6).toFixed(1)} | ${(b * 1e6).toFixed(1)} | ${g(r.macs, a)} | ${g(r.macs, b)} | ${(b / a).toFixed(3)} |`,
    )
  }
}

const argv = process.argv.slice(2)
const abRef = argv.includes('--ab') ? argv[argv.indexOf('--ab') + 1] : undefined
if (!argv.includes('--shapes') && abRef === undefined) generalTables()
await shapeTable(abRef)
