import * as fs from 'node:fs'
import * as zlib from 'node:zlib'
import { parseIdx, type IdxArray, type IdxExpectation } from './parseIdx.js'

/**
 * Reads an IDX file from disk (Node only) and parses it with `parseIdx`; a gzip-compressed file
 * (`*.gz`, as LeCun distributes them) is inflated first. Every error names the file.
 *
 * @example
 * ```ts
 * import { join } from 'node:path'
 * import { mnistDataDir, readIdx } from 'gradstream/node'
 *
 * const labels = readIdx(join(mnistDataDir(), 't10k-labels-idx1-ubyte'), { rank: 1 })
 * console.log(labels.type, labels.shape, labels.data[0]) // → ubyte [ 10000 ] 7
 * ```
 * @throws {Error} `readIdx: /no/such/file: file: expected a readable IDX file, got ENOENT`
 * @throws {RangeError} `readIdx: f.idx: magic number: expected 0x00000801 (ubyte, rank 1), got 0x00000803 (ubyte, rank 3)`
 */
export function readIdx(path: string, expect: IdxExpectation = {}): IdxArray {
  let bytes: Uint8Array
  try {
    bytes = fs.readFileSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e)
    throw new Error(`readIdx: ${path}: file: expected a readable IDX file, got ${code}`)
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes)
    } catch (e) {
      throw new RangeError(
        `readIdx: ${path}: gzip: expected a complete gzip stream, got ${(e as Error).message}`,
      )
    }
  }
  return parseIdx(bytes, path, expect, 'readIdx')
}
