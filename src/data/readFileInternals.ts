/**
 * Reading files that come from the user (`readIdx`, `loadMnist`, `--resume`) without trusting
 * them: only a regular file (a FIFO would block forever, `/dev/zero` never ends), only up to a
 * documented size, and gzip inflated with a bound on its output (a few MB of gzip can inflate to
 * gigabytes). Node only.
 */
import * as fs from 'node:fs'
import * as zlib from 'node:zlib'

/** `1 GiB (1073741824 bytes)`: a byte count as people read it, exact in parentheses. */
export function bytesText(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let u = 0
  let v = n
  while (v >= 1024 && Number.isInteger(v / 1024) && u < units.length - 1) ((v /= 1024), u++)
  return u === 0 ? `${n} bytes` : `${v} ${units[u]} (${n} bytes)`
}

const kindOf = (st: fs.Stats): string =>
  st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a FIFO (named pipe)'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isSocket()
            ? 'a socket'
            : 'not a regular file'

/**
 * The bytes of `path`, which must be a regular file of at most `maxBytes` bytes. The file is
 * opened without blocking (a FIFO opens at once and is then refused) and checked on the open
 * descriptor, so it cannot be swapped between the check and the read.
 *
 * @param where starts every message: `readIdx: data/x.idx` or `--resume run.json`
 * @param what the kind of file expected, for the message: `IDX file`, `checkpoint file`
 * @param shared read into a SharedArrayBuffer where there is one (for other threads to read)
 * @throws {Error} `readIdx: x.idx: file: expected a readable IDX file, got ENOENT`
 * @throws {TypeError} `--resume /dev/zero: file: expected a regular file, got a character device`
 * @throws {RangeError} `--resume big.json: size: expected at most 256 MiB (268435456 bytes), got 300000000 bytes`
 */
export function readRegularFile(
  where: string,
  path: string,
  what: string,
  maxBytes: number,
  shared = false,
): Uint8Array {
  let fd: number
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e)
    throw new Error(`${where}: file: expected a readable ${what}, got ${code}`)
  }
  try {
    const st = fs.fstatSync(fd)
    if (!st.isFile()) {
      throw new TypeError(`${where}: file: expected a regular file, got ${kindOf(st)}`)
    }
    if (st.size > maxBytes) {
      throw new RangeError(
        `${where}: size: expected at most ${bytesText(maxBytes)}, got ${st.size} bytes`,
      )
    }
    // read what fstat announced, no more: a file growing meanwhile cannot pass the limit
    const out =
      shared && typeof SharedArrayBuffer === 'function'
        ? new Uint8Array(new SharedArrayBuffer(st.size))
        : new Uint8Array(st.size)
    let at = 0
    while (at < out.length) {
      const n = fs.readSync(fd, out, at, out.length - at, at)
      if (n === 0) break
      at += n
    }
    return at === out.length ? out : out.subarray(0, at)
  } finally {
    fs.closeSync(fd)
  }
}

/** Whether `bytes` start as gzip does (`1f 8b`). */
export const isGzip = (bytes: Uint8Array): boolean =>
  bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

/**
 * Inflates gzip `bytes`, stopping as soon as the output would pass `maxBytes` (zlib's
 * `maxOutputLength`): a gzip bomb costs at most `maxBytes` of memory and the time to inflate
 * that much.
 *
 * @param why what the bound is, for the message: `(the size its IDX header declares)`
 * @throws {RangeError} `readIdx: x.gz: gzip: expected at most 800 bytes once inflated (…), got more`
 * @throws {RangeError} `readIdx: x.gz: gzip: expected a complete gzip stream, got unexpected end of file`
 */
export function gunzipBounded(
  where: string,
  bytes: Uint8Array,
  maxBytes: number,
  why = '',
): Uint8Array {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: Math.max(1, maxBytes) })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RangeError(
        `${where}: gzip: expected at most ${bytesText(maxBytes)} once inflated${why ? ` ${why}` : ''}, got more`,
      )
    }
    throw new RangeError(
      `${where}: gzip: expected a complete gzip stream, got ${(e as Error).message}`,
    )
  }
}

/**
 * The first bytes `bytes` (gzip) inflate to: at most what `compressed` bytes of it give (deflate
 * expands a byte to at most ~1,032), for reading a header before inflating the rest.
 */
export function gunzipHead(bytes: Uint8Array, compressed = 512): Uint8Array {
  try {
    return zlib.gunzipSync(bytes.subarray(0, compressed), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    })
  } catch {
    return new Uint8Array(0) // the full inflation reports what is wrong
  }
}
