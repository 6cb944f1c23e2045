/**
 * Σx² over float64s: the gradient norm's read of every gradient value each step, most of what a
 * dashboards writer costs (src/logging, bench/RESULTS.md issue 16). Summed with WebAssembly
 * SIMD (two float64s an instruction) by a small module of its own, instantiated over whichever
 * memory holds the values:
 *
 * - `sumOfSquares(d)` copies a long array into the module's own memory and sums it there;
 *   short arrays, and every array where WebAssembly SIMD is unavailable, are summed by a
 *   JavaScript loop in the same order, so every path gives the same bits;
 * - at the copy-out of a gradient the kernels made in their memory (`noteCopiedOut`), the values
 *   are summed where they lie, still in cache, and the sum is kept for the array they were
 *   copied to — but only while a writer has asked for sums (`wantSumsOfSquares`): otherwise
 *   nothing is computed. A gradient's buffer is never written after it is handed over (a
 *   state's gradient is frozen data), so the kept sum stays that array's.
 *
 * The order: eight running sums sᵣ (r = i mod 8) over each 8-value block, combined as
 * ((s₀ + s₂) + (s₄ + s₆)) + ((s₁ + s₃) + (s₅ + s₇)), then the last n mod 8 values one by one;
 * more than CHUNK values are summed chunk by chunk, the chunks' sums added in order.
 *
 * The module is AssemblyScript 0.28's compilation (`asc sumSquares.ts -O3 --noAssert --runtime
 * stub --enable simd --importMemory`; for a shared memory, as src/parallel's kernels use, also
 * `--enable threads --sharedMemory --initialMemory 1 --maximumMemory 16384`) of
 *
 *     export function sumSquares(at: usize, n: i32): f64 {
 *       let a = f64x2.splat(0), b = f64x2.splat(0), c = f64x2.splat(0), d = f64x2.splat(0)
 *       let i = 0
 *       for (; i + 8 <= n; i += 8) {
 *         const p = at + (<usize>i << 3)
 *         const x0 = v128.load(p), x1 = v128.load(p, 16), x2 = v128.load(p, 32), x3 = v128.load(p, 48)
 *         a = f64x2.add(a, f64x2.mul(x0, x0)); b = f64x2.add(b, f64x2.mul(x1, x1))
 *         c = f64x2.add(c, f64x2.mul(x2, x2)); d = f64x2.add(d, f64x2.mul(x3, x3))
 *       }
 *       a = f64x2.add(f64x2.add(a, b), f64x2.add(c, d))
 *       let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1)
 *       for (; i < n; i++) { const x = load<f64>(at + (<usize>i << 3)); s += x * x }
 *       return s
 *     }
 *
 * (lane 0 of a, b, c, d holds s₀, s₂, s₄, s₆; lane 1 s₁, s₃, s₅, s₇). Browser-safe.
 */

/** The module, importing `env.memory` (not shared). */
const MODULE_BASE64 =
  'AGFzbQEAAAABBwFgAn9/AXwCDwEDZW52Bm1lbW9yeQIAAAMCAQAHFwIKc3VtU3F1YXJlcwAABm1lbW9yeQIACsIBAb8B' +
  'AwJ/AXwFewNAIAJBCGoiAyABTARAIAYgACACQQN0aiIC/QAEACIFIAX98gH98AEhBiAHIAL9AAQQIgUgBf3yAf3wASEH' +
  'IAggAv0ABCAiBSAF/fIB/fABIQggCSAC/QAEMCIFIAX98gH98AEhCSADIQIMAQsLIAYgB/3wASAIIAn98AH98AEiBf0h' +
  'ACAF/SEBoCEEA0AgASACSgRAIAQgACACQQN0aisDACIEIASioCEEIAJBAWohAgwBCwsgBAs='
/** The same, importing a shared `env.memory` of at most 16,384 pages (src/parallel's). */
const SHARED_MODULE_BASE64 =
  'AGFzbQEAAAABBwFgAn9/AXwCEgEDZW52Bm1lbW9yeQIDAYCAAQMCAQAHFwIKc3VtU3F1YXJlcwAABm1lbW9yeQIACsIB' +
  'Ab8BAwJ/AXwFewNAIAJBCGoiAyABTARAIAYgACACQQN0aiIC/QAEACIFIAX98gH98AEhBiAHIAL9AAQQIgUgBf3yAf3w' +
  'ASEHIAggAv0ABCAiBSAF/fIB/fABIQggCSAC/QAEMCIFIAX98gH98AEhCSADIQIMAQsLIAYgB/3wASAIIAn98AH98AEi' +
  'Bf0hACAF/SEBoCEEA0AgASACSgRAIAQgACACQQN0aisDACIEIASioCEEIAJBAWohAgwBCwsgBAs='
/** Values summed per call (512 KB of float64): the module's own memory never grows past that. */
export const CHUNK = 1 << 16

/**
 * Arrays at least this long are copied into wasm and summed there, which beats the JavaScript
 * loop for them (bench/dashboards.bench.ts); a call and a copy cost more than a short loop.
 */
export const WASM_MIN_LENGTH = 512

type SumSquares = (at: number, n: number) => number

/** The module's `sumSquares` over each memory it was instantiated for. */
const instances = new WeakMap<WebAssembly.Memory, SumSquares | null>()
let ownMemory: WebAssembly.Memory | null | undefined
let own = new Float64Array(0)

/** `sumSquares` over `memory`, or null where WebAssembly SIMD is unavailable (tried once each). */
function sumSquaresOver(memory: WebAssembly.Memory): SumSquares | null {
  let f = instances.get(memory)
  if (f !== undefined) return f
  try {
    const shared =
      typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
    const bytes = Uint8Array.from(atob(shared ? SHARED_MODULE_BASE64 : MODULE_BASE64), (c) =>
      c.charCodeAt(0),
    )
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
      .exports as { sumSquares: SumSquares }
    f = exports.sumSquares
  } catch {
    f = null
  }
  instances.set(memory, f)
  return f
}

/** The module over a memory of its own holding CHUNK values, or null (tried once). */
function ownSumSquares(): SumSquares | null {
  if (ownMemory === undefined) {
    try {
      ownMemory = new WebAssembly.Memory({ initial: (CHUNK * 8) / 65536 })
    } catch {
      ownMemory = null // no WebAssembly here: the JavaScript loop sums everything
    }
    if (ownMemory !== null && sumSquaresOver(ownMemory) === null) ownMemory = null
    if (ownMemory !== null) own = new Float64Array(ownMemory.buffer)
  }
  return ownMemory === null ? null : sumSquaresOver(ownMemory)
}

/** Whether long arrays are summed in WebAssembly here (false where SIMD is unavailable). */
export const summedInWasm = (): boolean => ownSumSquares() !== null

/** Σx² over `d` in the order above: its sum kept at copy-out if there is one, else summed now. */
export function sumOfSquares(d: Float64Array): number {
  const known = copiedOut.get(d)
  if (known !== undefined) return known
  const f = d.length >= WASM_MIN_LENGTH ? ownSumSquares() : null
  let s = 0
  for (let from = 0; from < d.length; from += CHUNK) {
    const to = Math.min(d.length, from + CHUNK)
    if (f !== null) {
      own.set(d.subarray(from, to))
      s += f(0, to - from)
    } else {
      s += sumOfSquaresJs(d, from, to)
    }
  }
  return s
}

/** Σx² over `d[from, to)` in JavaScript, in the module's order (the same bits). */
export function sumOfSquaresJs(d: Float64Array, from = 0, to = d.length): number {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let s4 = 0
  let s5 = 0
  let s6 = 0
  let s7 = 0
  let i = from
  for (; i + 8 <= to; i += 8) {
    const x0 = d[i]
    const x1 = d[i + 1]
    const x2 = d[i + 2]
    const x3 = d[i + 3]
    const x4 = d[i + 4]
    const x5 = d[i + 5]
    const x6 = d[i + 6]
    const x7 = d[i + 7]
    s0 += x0 * x0
    s1 += x1 * x1
    s2 += x2 * x2
    s3 += x3 * x3
    s4 += x4 * x4
    s5 += x5 * x5
    s6 += x6 * x6
    s7 += x7 * x7
  }
  let s = s0 + s2 + (s4 + s6) + (s1 + s3 + (s5 + s7))
  for (; i < to; i++) s += d[i] * d[i]
  return s
}

/** Sums taken at copy-out, by the array the values were copied to. */
const copiedOut = new WeakMap<Float64Array, number>()

/** The sum kept for `d` at its copy-out, if any (for tests and the bench). */
export const copiedOutSum = (d: Float64Array): number | undefined => copiedOut.get(d)
let wanted = 0

/**
 * Asks the kernels to sum each gradient they copy out of their memory (`noteCopiedOut`) until
 * the returned function is called; a writer of gradient norms holds this while it runs.
 */
export function wantSumsOfSquares(): () => void {
  wanted++
  let released = false
  return () => {
    if (!released) ((released = true), wanted--)
  }
}

/**
 * Called by a kernel that has just copied fresh gradient buffers (that it hands over) out of
 * `memory`: each `[dst, at]` says `dst.length` values came from byte `at`. While sums are
 * wanted, sums each there.
 */
export function noteCopiedOut(
  memory: WebAssembly.Memory,
  ...copies: readonly (readonly [dst: Float64Array, at: number])[]
): void {
  if (wanted === 0) return
  const f = sumSquaresOver(memory)
  if (f === null) return
  for (const [dst, at] of copies) {
    let s = 0
    for (let from = 0; from < dst.length; from += CHUNK)
      s += f(at + from * 8, Math.min(dst.length, from + CHUNK) - from)
    copiedOut.set(dst, s)
  }
}
