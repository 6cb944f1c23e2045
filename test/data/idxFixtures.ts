import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

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
