import { IDX_TYPES, parseIdx, type IdxArray, type IdxExpectation } from './parseIdx.js'
import { gunzipBounded, gunzipHead, isGzip, readRegularFile } from './readFileInternals.js'
import { show } from '../errors.js'

/** The largest IDX file `readIdx` reads, and the most a `.gz` one may inflate to: 1 GiB. */
export const MAX_IDX_BYTES = 2 ** 30

/**
 * Reads an IDX file from disk (Node only) and parses it with `parseIdx`; a gzip-compressed file
 * (`*.gz`, as LeCun distributes them) is inflated first. Every error names the file.
 *
 * Hostile files are refused quickly: the path must be a regular file (not a FIFO, a device or a
 * directory) of at most 1 GiB (`MAX_IDX_BYTES`), and a `.gz` inflates to at most the size its
 * own IDX header declares (and never past 1 GiB), so a gzip bomb stops where it lies.
 *
 * @example
 * ```ts
 * import { join } from 'node:path'
 * import { mnistDataDir, readIdx } from 'gradstream/node'
 *
 * const labels = readIdx(join(mnistDataDir(), 't10k-labels-idx1-ubyte'), { rank: 1 })
 * console.log(labels.type, labels.shape, labels.data[0]) // → ubyte [ 10000 ] 7
 * ```
 * @throws {TypeError} `readIdx: path: expected a string, got undefined`
 * @throws {Error} `readIdx: /no/such/file: file: expected a readable IDX file, got ENOENT`
 * @throws {TypeError} `readIdx: /dev/zero: file: expected a regular file, got a character device`
 * @throws {RangeError} `readIdx: big.idx: size: expected at most 1 GiB (1073741824 bytes), got 2000000000 bytes`
 * @throws {RangeError} `readIdx: bomb.gz: gzip: expected at most 20 bytes once inflated (the size its IDX header declares), got more`
 * @throws {RangeError} `readIdx: f.idx: magic number: expected 0x00000801 (ubyte, rank 1), got 0x00000803 (ubyte, rank 3)`
 */
export function readIdx(path: string, expect: IdxExpectation = {}): IdxArray {
  return readIdxFile(path, expect)
}

/**
 * `readIdx`, and with `shared` an uncompressed file's bytes (and so a ubyte file's `data`) in a
 * SharedArrayBuffer where there is one (loadMnist: rowPrefetch.ts' worker reads the images).
 */
export function readIdxFile(path: string, expect: IdxExpectation, shared = false): IdxArray {
  if (typeof path !== 'string')
    throw new TypeError(`readIdx: path: expected a string, got ${show(path)}`)
  const where = `readIdx: ${path}`
  let bytes = readRegularFile(where, path, 'IDX file', MAX_IDX_BYTES, shared)
  if (isGzip(bytes)) {
    const declared = declaredSize(gunzipHead(bytes))
    if (declared > MAX_IDX_BYTES) {
      throw new RangeError(
        `${where}: size: expected at most 1 GiB (${MAX_IDX_BYTES} bytes) once inflated, got an IDX header declaring ${declared} bytes`,
      )
    }
    bytes =
      declared >= 0
        ? gunzipBounded(where, bytes, declared, '(the size its IDX header declares)')
        : gunzipBounded(where, bytes, MAX_IDX_BYTES)
  }
  return parseIdx(bytes, path, expect, 'readIdx')
}

/**
 * The total size (header + elements) an IDX header declares, or −1 when `head` does not hold a
 * whole valid header (then the full inflation, bounded by `MAX_IDX_BYTES`, and `parseIdx` say
 * what is wrong).
 */
function declaredSize(head: Uint8Array): number {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) return -1
  const info = IDX_TYPES[head[2] as keyof typeof IDX_TYPES]
  const rank = head[3]
  if (info === undefined || head.length < 4 + 4 * rank) return -1
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  let size = info.size
  for (let d = 0; d < rank; d++) size *= view.getUint32(4 + 4 * d)
  return 4 + 4 * rank + size
}
