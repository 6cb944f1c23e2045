import { readFileSync } from 'node:fs'
import asc from 'assemblyscript/asc'
import { describe, expect, it, vi } from 'vitest'
import { randn, rng } from 'gradstream'
import {
  CHUNK,
  copiedOutSum,
  noteCopiedOut,
  sumOfSquares,
  sumOfSquaresJs,
  summedInWasm,
  wantSumsOfSquares,
  WASM_MIN_LENGTH,
} from '../../src/tensor/kernels/sumOfSquaresKernel.js'

const source = readFileSync(
  new URL('../../src/tensor/kernels/sumOfSquaresKernel.ts', import.meta.url),
  'utf8',
)

/** The documented order, written anew: eight running sums, combined, then the tail. */
function inOrder(d: Float64Array, from: number, to: number): number {
  const s = new Array<number>(8).fill(0)
  let i = from
  for (; i + 8 <= to; i += 8) for (let r = 0; r < 8; r++) s[r] += d[i + r] * d[i + r]
  let total = s[0] + s[2] + (s[4] + s[6]) + (s[1] + s[3] + (s[5] + s[7]))
  for (; i < to; i++) total += d[i] * d[i]
  return total
}
const chunked = (d: Float64Array) => {
  let s = 0
  for (let from = 0; from < d.length; from += CHUNK)
    s += inOrder(d, from, Math.min(d.length, from + CHUNK))
  return s
}

const lengths = [0, 1, 7, 8, 9, 17, WASM_MIN_LENGTH - 1, WASM_MIN_LENGTH, WASM_MIN_LENGTH + 3]
const long = [39_200, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 13]

describe('sumOfSquares', () => {
  it('gives the documented order’s bits on both paths, at every length around the edges', () => {
    expect(summedInWasm()).toBe(true) // Node has WebAssembly SIMD: the wasm path is the one tested
    const g = rng(7)
    for (const n of [...lengths, ...long]) {
      const d = randn([n], g).data
      const want = chunked(d)
      expect(Object.is(sumOfSquares(d), want), `wasm, n = ${n}`).toBe(true)
      if (n <= CHUNK) expect(Object.is(sumOfSquaresJs(d), want), `js, n = ${n}`).toBe(true)
      // and it is Σx²: the plain running sum differs by rounding alone, ≤ n·ε relatively
      const plain = d.reduce((a, x) => a + x * x, 0)
      expect(Math.abs(want - plain), `n = ${n}`).toBeLessThanOrEqual(n * Number.EPSILON * plain)
    }
  })

  it('reads a subarray at an offset and leaves its input unchanged', () => {
    const d = randn([3000], rng(3)).data
    const copy = d.slice()
    expect(Object.is(sumOfSquares(d.subarray(5, 2005)), inOrder(d, 5, 2005))).toBe(true)
    expect(d).toEqual(copy)
  })

  it('where WebAssembly is missing, sums in JavaScript (the same bits) and keeps nothing', async () => {
    vi.resetModules()
    vi.stubGlobal('WebAssembly', undefined)
    try {
      const m = await import('../../src/tensor/kernels/sumOfSquaresKernel.js')
      expect(m.summedInWasm()).toBe(false)
      const d = randn([39_200], rng(4)).data
      expect(Object.is(m.sumOfSquares(d), chunked(d))).toBe(true)
      const release = m.wantSumsOfSquares()
      m.noteCopiedOut({} as WebAssembly.Memory, [d, 0])
      expect(m.copiedOutSum(d)).toBeUndefined()
      release()
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('propagates Infinity and NaN as the loop does', () => {
    const d = new Float64Array(WASM_MIN_LENGTH * 2).fill(0.5)
    d[700] = Infinity
    expect(sumOfSquares(d)).toBe(Infinity)
    d[3] = NaN
    expect(sumOfSquares(d)).toBeNaN()
  })
})

describe('noteCopiedOut', () => {
  /** A memory holding `values` at byte `at`, and the array they were "copied" to. */
  const copied = (values: Float64Array, at: number, shared = false) => {
    const memory = new WebAssembly.Memory(
      shared ? { initial: 40, maximum: 16384, shared: true } : { initial: 40 },
    )
    new Float64Array(memory.buffer).set(values, at / 8)
    return { memory, dst: values.slice() }
  }

  it('keeps the sum of the values where they lie, only while a writer wants sums', () => {
    const values = randn([39_200], rng(5)).data
    const idle = copied(values, 65_536)
    noteCopiedOut(idle.memory, [idle.dst, 65_536])
    expect(copiedOutSum(idle.dst)).toBeUndefined() // nobody asked: nothing computed

    const release = wantSumsOfSquares()
    for (const shared of [false, true]) {
      const { memory, dst } = copied(values, 65_536 + 16, shared)
      noteCopiedOut(memory, [dst, 65_536 + 16])
      expect(Object.is(copiedOutSum(dst), chunked(values)), `shared: ${shared}`).toBe(true)
      expect(Object.is(sumOfSquares(dst), chunked(values))).toBe(true)
    }
    // the kept sum is what sumOfSquares answers for that array (here, on purpose, not its own)
    const other = copied(
      values.map((x) => 2 * x),
      65_536,
    )
    noteCopiedOut(other.memory, [values, 65_536])
    expect(sumOfSquares(values)).toBe(copiedOutSum(values))
    expect(sumOfSquares(values)).not.toBe(chunked(values))
    release()
    release() // once only
    const after = copied(values, 65_536)
    noteCopiedOut(after.memory, [after.dst, 65_536])
    expect(copiedOutSum(after.dst)).toBeUndefined()
  })
})

describe('the embedded modules', () => {
  it('are what the AssemblyScript source in the doc compiles to, for a memory and a shared one', async () => {
    const program = source
      .split('\n')
      .filter((l) => l.startsWith(' *     '))
      .map((l) => l.slice(7))
      .join('\n')
    expect(program).toMatch(/^export function sumSquares\(at: usize, n: i32\): f64 \{/)
    const compile = async (extra: string[]) => {
      let binary: Uint8Array | undefined
      const common = ['sumSquares.ts', '-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd']
      const { error } = await asc.main(
        [...common, '--importMemory', ...extra, '--outFile', 'sumSquares.wasm'],
        {
          readFile: (name: string) => (name === 'sumSquares.ts' ? program + '\n' : null),
          writeFile: (name: string, contents: string | Uint8Array) => {
            if (name === 'sumSquares.wasm' && typeof contents !== 'string') binary = contents
          },
          listFiles: () => [],
          stdout: { write: () => true } as never,
          stderr: { write: () => true } as never,
        },
      )
      expect(error).toBeNull()
      return Buffer.from(binary!).toString('base64')
    }
    const embedded = (name: string) => {
      const at = source.indexOf(`const ${name} =\n`)
      const lines = source.slice(at).split('\n').slice(1)
      return lines
        .slice(
          0,
          lines.findIndex((l) => !l.startsWith("  '")),
        )
        .map((l) => l.replace(/^ {2}'|'( \+)?$/g, ''))
        .join('')
    }
    expect(await compile([])).toBe(embedded('MODULE_BASE64'))
    const shared = ['--enable', 'threads', '--sharedMemory', '--initialMemory', '1']
    expect(await compile([...shared, '--maximumMemory', '16384'])).toBe(
      embedded('SHARED_MODULE_BASE64'),
    )
  })
})
