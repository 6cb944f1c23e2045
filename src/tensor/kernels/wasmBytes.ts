/**
 * The bytes of a WebAssembly module embedded as base64: Node's Buffer decodes them natively where
 * it is at hand (`atob` and a loop over its characters took ~1 ms for a kernels' module there,
 * inside the first step that loads it), else `atob`.
 */
export function wasmBytes(base64: string): Uint8Array<ArrayBuffer> {
  const proc = (globalThis as { process?: NodeJS.Process }).process
  const buffer =
    typeof proc?.getBuiltinModule === 'function'
      ? (proc.getBuiltinModule('node:buffer') as typeof import('node:buffer'))?.Buffer
      : undefined
  if (buffer !== undefined) return buffer.from(base64, 'base64') as Uint8Array<ArrayBuffer>
  const bin = atob(base64)
  const bytes = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
  return bytes
}
