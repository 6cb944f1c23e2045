/**
 * The matrix-product kernels on training's shapes: GFLOP/s (2·m·k·n per product, as if dense)
 * of the naive i-k-j loop, the blocked JavaScript kernel, the WebAssembly SIMD kernel, and the
 * sparse paths at MNIST-like density, for `A·B`, `Aᵀ·B` and `A·Bᵀ`. Self-contained (no peers):
 * `npx tsx bench/kernels.bench.ts`; `npm run bench` runs it once and keeps its table. Justifies
 * WASM_MIN_WORK and SPARSE_MAX_DENSITY in src/tensor/kernels/gemmKernel.ts, and (its second
 * table) WASM_MIN_LENGTH in addScaledKernel.ts.
 */
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
