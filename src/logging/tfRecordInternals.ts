/**
 * TFRecord framing, the container of TensorBoard's event files: each record is
 *
 *     u64 length (little-endian) | u32 masked CRC32C(length bytes) | data | u32 masked CRC32C(data)
 *
 * CRC32C is CRC-32 with Castagnoli's polynomial (0x1EDC6F41, reflected 0x82F63B78; RFC 3720
 * §B.4), and the mask is TensorFlow's `((crc >>> 15) | (crc << 17)) + 0xa282ead8`
 * (tensorflow/core/lib/hash/crc32c.h), so that a CRC of data that itself holds CRCs is not
 * trivially zero. Written here rather than taken from `@aws-crypto/crc32c`: that package pulls
 * 8 packages (2.4 MB, mostly AWS SDK type declarations) into every library user's install for
 * the same byte-table loop; the tests check this one against it and against a bitwise one.
 */

const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC32C of `bytes` (an unsigned 32-bit integer); `crc32c('123456789') = 0xe3069283`. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** TensorFlow's masked CRC32C, the checksum TFRecord stores. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes)
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0
}

/** One TFRecord: `data` with its length and both checksums around it. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length, true) // the u64's low half; a Uint8Array is shorter than 2³²
  view.setUint32(4, 0, true)
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true)
  out.set(data, 12)
  view.setUint32(12 + data.length, maskedCrc32c(data), true)
  return out
}

const header = new Uint8Array(12)
const headerView = new DataView(header.buffer)
const footer = new Uint8Array(4)
const footerView = new DataView(footer.buffer)

/**
 * The TFRecord of `data`, handed to `append` in three pieces (length and its checksum, `data`,
 * its checksum) from scratch buffers reused by the next call: `append` must copy them.
 */
export function appendTfRecord(append: (bytes: Uint8Array) => void, data: Uint8Array): void {
  headerView.setUint32(0, data.length, true)
  headerView.setUint32(4, 0, true)
  headerView.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true)
  footerView.setUint32(0, maskedCrc32c(data), true)
  append(header)
  append(data)
  append(footer)
}
