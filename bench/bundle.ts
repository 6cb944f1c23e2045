// How bench/ builds what it measures: an entry bundled with esbuild against a tree's sources (as
// an application bundler would ship gradstream), run on plain node; src/parallel's worker modules
// go beside it, where the bundled code looks for them. Shared by run.ts, ab.ts, startVsW3.ts and
// tsxVsBuilt.ts.
import { join } from 'node:path'
import { build, type LogLevel } from 'esbuild'

/**
 * esbuild's options that tsx (4.x) transforms every TypeScript file with, beside its target: each
 * function bound to a name gets named by `Object.defineProperty` as it is made (keepNames).
 */
export const TSX_TRANSFORM = { keepNames: true, minifyWhitespace: true } as const

/**
 * Bundles `contents` (a TypeScript module, imports resolved from `resolveDir`) into `outfile`;
 * `tsxLike`: with {@link TSX_TRANSFORM}.
 */
export async function bundleEntry(
  root: string,
  opts: {
    contents: string
    resolveDir: string
    outfile: string
    sourcefile?: string
    tsxLike?: boolean
  },
  logLevel: LogLevel = 'warning',
): Promise<void> {
  const { contents, resolveDir, outfile, sourcefile, tsxLike } = opts
  await build({
    ...(tsxLike ? TSX_TRANSFORM : {}),
    stdin: { contents, resolveDir, loader: 'ts', ...(sourcefile ? { sourcefile } : {}) },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    alias: {
      gradstream: join(root, 'src/index.ts'),
      'gradstream/operators': join(root, 'operators/index.ts'),
      'gradstream/node': join(root, 'src/node.ts'),
    },
    packages: 'external',
    logLevel,
  })
}

/** Bundles `root`'s worker modules (src/parallel/probeWorker.ts and its imports) into `outdir`. */
export async function bundleWorkers(
  root: string,
  outdir: string,
  logLevel: LogLevel = 'warning',
): Promise<void> {
  await build({
    entryPoints: [join(root, 'src/parallel/probeWorker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    packages: 'external',
    logLevel,
  })
}
