/** What `wasmBytes` uses of node:buffer (got at run time: the entry stays browser-safe). */
interface BufferModule {
  Buffer?: { from(s: string, encoding: 'base64'): Uint8Array<ArrayBuffer> }
}

/**
 * The bytes of a WebAssembly module embedded as base64: Node's Buffer decodes them natively where
 * it is at hand (`atob` and a loop over its characters took ~1 ms for a kernels' module there,
 * inside the first step that loads it), else `atob`.
 */
export function wasmBytes(base64: string): Uint8Array<ArrayBuffer> {
  const proc = (globalThis as { process?: NodeJS.Process }).process
  const buffer =
    typeof proc?.getBuiltinModule === 'function'
      ? (proc.getBuiltinModule('node:buffer') as BufferModule | undefined)?.Buffer
      : undefined
  if (buffer !== undefined) return buffer.from(base64, 'base64')
  const bin = atob(base64)
  const bytes = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
  return bytes
}
