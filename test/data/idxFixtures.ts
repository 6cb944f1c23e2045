import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as zlib from 'node:zlib'

/** Builds IDX bytes by hand from the format's definition (independent of parseIdx). */
export function idxBytes(
  typeCode: number,
  dims: readonly number[],
  body: ArrayLike<number>,
): Uint8Array {
  const header = [0, 0, typeCode, dims.length]
  for (const d of dims)
    header.push((d >>> 24) & 0xff, (d >>> 16) & 0xff, (d >>> 8) & 0xff, d & 0xff)
  return Uint8Array.from([...header, ...Array.from(body)])
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradstream-idx-'))
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Writes a tiny MNIST-shaped set into `dir`: `n` images of `rows×cols` whose pixel values are
 * (i + j) mod 256 and labels i mod 10; `overrides` replace any file's bytes.
 */
export function writeMnist(
  dir: string,
  { train = 6, test = 4, rows = 2, cols = 3 } = {},
  overrides: Record<string, Uint8Array> = {},
): void {
  const images = (n: number) =>
    idxBytes(
      0x08,
      [n, rows, cols],
      Array.from({ length: n * rows * cols }, (_, k) => k % 256),
    )
  const labels = (n: number) =>
    idxBytes(
      0x08,
      [n],
      Array.from({ length: n }, (_, i) => i % 10),
    )
  const files: Record<string, Uint8Array> = {
    'train-images-idx3-ubyte': images(train),
    'train-labels-idx1-ubyte': labels(train),
    't10k-images-idx3-ubyte': images(test),
    't10k-labels-idx1-ubyte': labels(test),
    ...overrides,
  }
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes)
}

/**
 * A gzip bomb: an IDX header declaring `dims` (ubyte) followed by `megabytes` MiB of zeros, as
 * concatenated gzip members of 16 MiB each (gunzip reads them as one stream), so building a
 * 2 GiB bomb compresses 16 MiB once. About 16 KiB of file per 16 MiB inflated.
 */
export function gzipBomb(dims: readonly number[], megabytes: number): Uint8Array {
  const block = zlib.gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9 })
  const parts: Uint8Array[] = [zlib.gzipSync(idxBytes(0x08, dims, []))]
  for (let m = 0; m < megabytes; m += 16) parts.push(block)
  return Buffer.concat(parts)
}

/** Makes a FIFO (named pipe) at `file` (POSIX `mkfifo`); false where there is none. */
export function makeFifo(file: string): boolean {
  return spawnSync('mkfifo', [file]).status === 0
}

/** A sparse regular file of `bytes` bytes (no disk used): for size limits. */
export function sparseFile(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w')
  fs.ftruncateSync(fd, bytes)
  fs.closeSync(fd)
}
