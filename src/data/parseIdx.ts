/**
 * The IDX format (LeCun's MNIST files): a magic number `0x0000 TT RR` — two zero bytes, a type
 * code `TT`, a rank `RR` — then `RR` big-endian uint32 dimensions, then the elements big-endian,
 * row-major. Pure: no file system here, so a browser can parse fetched bytes with it.
 */

import { show } from '../errors.js'

/** The element types IDX knows, by type code. */
export const IDX_TYPES = {
  0x08: { name: 'ubyte', size: 1 },
  0x09: { name: 'sbyte', size: 1 },
  0x0b: { name: 'short', size: 2 },
  0x0c: { name: 'int', size: 4 },
  0x0d: { name: 'float', size: 4 },
  0x0e: { name: 'double', size: 8 },
} as const

/** An IDX element type name. */
export type IdxType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['name']

/** A parsed IDX file: its element type, dimensions and elements (host byte order). */
export interface IdxArray {
  readonly type: IdxType
  readonly shape: readonly number[]
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array
}

/** What the caller requires of the file; a mismatch is an error naming the file. */
export interface IdxExpectation {
  readonly type?: IdxType
  readonly rank?: number
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`
const codeOf = (type: IdxType): number =>
  Number(Object.entries(IDX_TYPES).find(([, t]) => t.name === type)![0])
const describe = (magic: number): string => {
  const t = IDX_TYPES[((magic >>> 8) & 0xff) as keyof typeof IDX_TYPES]
  return magic >>> 16 === 0 && t ? ` (${t.name}, rank ${magic & 0xff})` : ''
}

/**
 * Parses the bytes of an IDX file. `name` (usually the file's path) starts every error
 * message after the function name, so a user knows which file is at fault. An unsigned-byte
 * file's `data` is a view into `bytes` (no copy); other types are decoded into a new array.
 *
 * @example
 * ```ts
 * import { parseIdx } from 'gradstream'
 *
 * // a 2×3 ubyte matrix: magic 0x00000802 (ubyte, rank 2), dimensions 2 and 3, then 6 bytes
 * const bytes = Uint8Array.of(0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6)
 * const m = parseIdx(bytes, 'm.idx')
 * console.log(m.type, m.shape, m.data) // → ubyte [ 2, 3 ] Uint8Array(6) [ 1, 2, 3, 4, 5, 6 ]
 * ```
 * @param expect optional required type and rank (MNIST images are `{ type: 'ubyte', rank: 3 }`)
 * @throws {TypeError} `parseIdx: bytes: expected a Uint8Array, got "x"`
 * @throws {RangeError} `parseIdx: m.idx: magic number: expected 0x0000 followed by a type code (0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e) and a rank, got 0x89504e47`
 * @throws {RangeError} `parseIdx: m.idx: length: expected 16 + 784 = 800 bytes for ubyte dimensions [1,28,28], got 700 (truncated)`
 */
export function parseIdx(
  bytes: Uint8Array,
  name: string,
  expect: IdxExpectation = {},
  fn = 'parseIdx',
): IdxArray {
  if (!(bytes instanceof Uint8Array))
    throw new TypeError(`${fn}: bytes: expected a Uint8Array, got ${show(bytes)}`)
  if (typeof name !== 'string')
    throw new TypeError(`${fn}: name: expected a string, got ${show(name)}`)
  const fail = (field: string, what: string, got: string): RangeError =>
    new RangeError(`${fn}: ${name}: ${field}: expected ${what}, got ${got}`)
  if (bytes.length < 4) throw fail('header', 'at least 4 bytes', `${bytes.length} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const magic = view.getUint32(0)
  const code = bytes[2] as keyof typeof IDX_TYPES
  const info = IDX_TYPES[code]
  if (bytes[0] !== 0 || bytes[1] !== 0 || info === undefined) {
    throw fail(
      'magic number',
      '0x0000 followed by a type code (0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e) and a rank',
      hex(magic),
    )
  }
  const rank = bytes[3]
  if (
    (expect.type !== undefined && expect.type !== info.name) ||
    (expect.rank !== undefined && expect.rank !== rank)
  ) {
    const want =
      (codeOf(expect.type ?? info.name) << 8) | (expect.rank !== undefined ? expect.rank : rank)
    throw fail(
      'magic number',
      `${hex(want)} (${expect.type ?? info.name}, rank ${expect.rank ?? rank})`,
      `${hex(magic)}${describe(magic)}`,
    )
  }
  const headerSize = 4 + 4 * rank
  if (bytes.length < headerSize) {
    throw fail(
      'header',
      `${headerSize} bytes for rank ${rank}`,
      `${bytes.length} bytes (truncated)`,
    )
  }
  const shape: number[] = []
  let count = 1
  for (let d = 0; d < rank; d++) {
    const n = view.getUint32(4 + 4 * d)
    shape.push(n)
    count *= n
  }
  const bodySize = count * info.size
  const total = headerSize + bodySize
  if (bytes.length !== total) {
    throw fail(
      'length',
      `${headerSize} + ${bodySize} = ${total} bytes for ${info.name} dimensions [${shape.join(',')}]`,
      `${bytes.length} (${bytes.length < total ? 'truncated' : 'trailing bytes'})`,
    )
  }
  const body = headerSize
  let data: IdxArray['data']
  switch (info.name) {
    case 'ubyte':
      data = bytes.subarray(body, total)
      break
    case 'sbyte':
      data = new Int8Array(bytes.buffer.slice(bytes.byteOffset + body, bytes.byteOffset + total))
      break
    case 'short':
      data = new Int16Array(count)
      for (let i = 0; i < count; i++) data[i] = view.getInt16(body + 2 * i)
      break
    case 'int':
      data = new Int32Array(count)
      for (let i = 0; i < count; i++) data[i] = view.getInt32(body + 4 * i)
      break
    case 'float':
      data = new Float32Array(count)
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(body + 4 * i)
      break
    case 'double':
      data = new Float64Array(count)
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(body + 8 * i)
      break
  }
  return { type: info.name, shape, data }
}
