// Last step of `npm run build` (after tsc and build.mjs): the JavaScript a user imports, as a few
// ES modules in dist/lib/ instead of tsc's ~200 files, without comments (tsc's JavaScript pass
// runs with removeComments) and in ASCII. The declarations stay where tsc's declaration pass
// wrote them (dist/src, dist/operators), with their doc comments.
//
// Why: V8 keeps every loaded module's source text on the heap, and the old generation's size at
// the start of training decides how often V8 11.3 (Node 20) runs full collections: above 8 MB
// it starts one each time a few tens of MB of fresh arrays have passed, and a training loop makes
// that much every few dozen steps. tsc's files import as 4.5 MB of old generation (their doc
// comments, in UTF-16 where a comment holds a non-ASCII character, and ~200 module records);
// these bundles as ~1.6 MB. Measured in bench/installedPackage.ts.
//
//   dist/lib/index.js        gradstream             dist/lib/cli.js          the command line
//   dist/lib/operators.js    gradstream/operators   dist/lib/relaunch.js     its first step
//   dist/lib/node.js         gradstream/node        dist/lib/probeWorker.js  a worker's module
//   dist/lib/chunk-*.js      code two or more of them share
//
// The dependencies and optional peers stay imports (the user's rxjs is the one the library
// uses); io-ts and fp-ts (dist/vendor) go inside. Every module lies in dist/lib, so a worker's
// module is found beside the code that starts it (`new URL('./probeWorker.js', import.meta.url)`).
import { build } from 'esbuild'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const dist = join(root, 'dist')
const lib = join(dist, 'lib')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

const entries = {
  index: 'src/index.js',
  operators: 'operators/index.js',
  node: 'src/node.js',
  cli: 'src/cli/main.js',
  relaunch: 'src/cli/relaunchWithOldSpace.js',
  probeWorker: 'src/parallel/probeWorker.js',
}

const result = await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(dist, v)])),
  bundle: true,
  splitting: true,
  format: 'esm',
  // neutral: the same files serve Node and a browser's bundler (node: modules stay imports)
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  outdir: lib,
  external: [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]
    .flatMap((p) => [p, `${p}/*`])
    .concat('node:*'),
  banner: {
    js: '/*! gradstream; includes io-ts and fp-ts (MIT License, (c) Giulio Canti): ../vendor/io-ts.LICENSE, ../vendor/fp-ts.LICENSE */',
  },
  // tsc wrote the JavaScript without comments (removeComments); what the source strings hold
  // beyond ASCII is written as escapes, so V8 keeps each module's text one byte a character
  charset: 'ascii',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
})

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)

// tsc's JavaScript is now inside the bundles; its declarations stay
for (const dir of ['src', 'operators', 'vendor']) {
  for (const e of readdirSync(join(dist, dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.js')) rmSync(join(e.parentPath, e.name))
  }
}
rmSync(join(dist, 'vendor', 'chunks'), { recursive: true, force: true })
console.log(`dist/lib: ${Object.keys(result.metafile.outputs).length} modules, ${bytes} bytes`)
