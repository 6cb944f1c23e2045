// The kernels' modules are embedded as base64 (wasmBinary.ts, sharedWasmBinary.ts) and decoded
// when first loaded, inside a training run's first step: by Node's Buffer where there is one,
// else by atob. Both must give the module's bytes exactly.
import { afterEach, describe, expect, it } from 'vitest'
import { wasmBytes } from '../../src/tensor/kernels/wasmBytes.js'
import { WASM_BASE64 } from '../../src/tensor/kernels/wasmBinary.js'
import { SHARED_WASM_BASE64 } from '../../src/parallel/sharedWasmBinary.js'

/** base64 decoded by hand, four characters to three bytes (padding dropped) */
function decodeByHand(s: string): number[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const out: number[] = []
  let bits = 0
  let n = 0
  for (const ch of s) {
    if (ch === '=') break
    bits = (bits << 6) | alphabet.indexOf(ch)
    n += 6
    if (n >= 8) {
      n -= 8
      out.push((bits >> n) & 0xff)
    }
  }
  return out
}

const proc = process as { getBuiltinModule?: unknown }
const saved = proc.getBuiltinModule
afterEach(() => {
  proc.getBuiltinModule = saved
})

describe('wasmBytes', () => {
  it('gives a module’s bytes (the header, padded and not)', () => {
    expect([...wasmBytes('AGFzbQEAAAA=')]).toEqual([0, 97, 115, 109, 1, 0, 0, 0])
    expect([...wasmBytes('AGFzbQ==')]).toEqual([0, 97, 115, 109])
    expect([...wasmBytes('AGFzbQEA')]).toEqual([0, 97, 115, 109, 1, 0])
  })

  it('decodes the embedded kernels byte for byte, with Buffer and without it (atob)', () => {
    for (const b64 of [WASM_BASE64, SHARED_WASM_BASE64]) {
      const expected = decodeByHand(b64)
      const withBuffer = wasmBytes(b64)
      expect(withBuffer).toBeInstanceOf(Uint8Array)
      expect([...withBuffer]).toEqual(expected)
      proc.getBuiltinModule = undefined
      expect([...wasmBytes(b64)]).toEqual(expected)
      proc.getBuiltinModule = saved
      expect(WebAssembly.validate(withBuffer)).toBe(true)
    }
  })
})
