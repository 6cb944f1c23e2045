// Second half of `npm run build` (after tsc): puts io-ts and the part of fp-ts it uses inside the
// package, so that a library user installs neither (fp-ts alone is 5 MB on disk, and io-ts makes
// it a required peer). The sources keep importing 'io-ts' and 'fp-ts/…' (devDependencies here);
// in dist/ those imports are rewritten to dist/vendor/:
//   JS     one ES module per imported specifier (io-ts.js, fp-ts/Either.js), bundled by esbuild from
//          the packages' ES builds, tree-shaken to what is imported, shared code in chunks/
//   types  io-ts's own index.d.ts (io-ts.d.ts) over fp-ts.d.ts, the three fp-ts types it names
//          (Either, Predicate, Refinement), written out below with fp-ts's exact shapes
// Both packages are MIT (© Giulio Canti): their LICENSE files go beside the bundle.
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const dist = join(root, 'dist')
const vendor = join(dist, 'vendor')
const require = createRequire(join(root, 'package.json'))
const bundled = /^(io-ts|fp-ts)(\/|$)/

/** Every .js and .d.ts file under `dir`. */
function emitted(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.js$|\.d\.ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
}

// import/export … from 'x' (tsc prints a declaration's start at the start of its line) and
// import('x') outside comment lines (d.ts inline types)
const fromClause = /^(\s*(?:import|export)\b[^'";]*?\bfrom\s*)(['"])([^'"]+)\2/gm
const dynamic = /^(?!\s*(?:\*|\/\/)).*$/gm
const inlineImport = /(\bimport\(\s*)(['"])([^'"]+)\2/g

/** Calls `f(specifier, clause)` for each module specifier of `text`; returns the rewritten text. */
function mapSpecifiers(text, f) {
  const swap = (_, head, q, spec) => head + q + (f(spec, head) ?? spec) + q
  return text.replace(fromClause, swap).replace(dynamic, (line) => line.replace(inlineImport, swap))
}

/** Where a specifier's module goes under dist/vendor (without .js). */
const vendorName = (spec) =>
  spec === 'io-ts' || spec === 'fp-ts'
    ? spec
    : spec.replace(/^(io-ts|fp-ts)\/(?:lib\/|es6\/)?/, '$1/').replace(/(\.d)?\.js$/, '')

/** The same module in the package's ES build (esbuild would otherwise wrap the CommonJS one). */
const esModule = (spec) => spec.replace(/^(io-ts|fp-ts)\/lib\//, '$1/es6/')

// what dist imports from the two packages: specifier → imported names ('*' for everything)
const wanted = new Map()
const files = emitted(dist)
for (const file of files.filter((f) => f.endsWith('.js'))) {
  mapSpecifiers(readFileSync(file, 'utf8'), (spec, head) => {
    if (!bundled.test(spec)) return
    const names = wanted.get(spec) ?? new Set()
    const named = /^\s*import\s*\{([^}]*)\}\s*from\s*$/.exec(head)
    if (named) for (const n of named[1].split(',')) names.add(n.trim().split(/\s+as\s+/)[0])
    else names.add('*')
    wanted.set(spec, names)
  })
}
if (wanted.size === 0) throw new Error('vendor: expected dist/ to import io-ts, got no import')

await build({
  entryPoints: [...wanted.keys()].map((spec) => ({ in: `vendor:${spec}`, out: vendorName(spec) })),
  plugins: [
    {
      name: 'vendor-entries',
      setup(b) {
        b.onResolve({ filter: /^vendor:/ }, (a) => ({ path: a.path.slice(7), namespace: 'vendor' }))
        b.onLoad({ filter: /.*/, namespace: 'vendor' }, (a) => {
          const names = wanted.get(a.path)
          const what = names.has('*') ? '*' : `{ ${[...names].filter(Boolean).join(', ')} }`
          return { contents: `export ${what} from '${esModule(a.path)}'`, resolveDir: root }
        })
      },
    },
  ],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  outdir: vendor,
  // paths in the bundle's comments as in any checkout (node_modules may be a link)
  absWorkingDir: root,
  preserveSymlinks: true,
  chunkNames: 'chunks/[name]-[hash]',
  banner: {
    js: '/*! io-ts and fp-ts, MIT License, (c) Giulio Canti: see io-ts.LICENSE and fp-ts.LICENSE here */',
  },
  logLevel: 'warning',
})
for (const p of ['io-ts', 'fp-ts']) {
  copyFileSync(require.resolve(`${p}/LICENSE`), join(vendor, `${p}.LICENSE`))
}

// io-ts's declarations, over the fp-ts types they name
const ioTsTypes = readFileSync(require.resolve('io-ts/lib/index.d.ts'), 'utf8')
writeFileSync(
  join(vendor, 'io-ts.d.ts'),
  mapSpecifiers(ioTsTypes, (spec) => {
    if (spec === 'fp-ts/lib/Either' || spec === 'fp-ts/lib/function') return './fp-ts.js'
    throw new Error(
      `vendor: io-ts's index.d.ts: expected imports of fp-ts/lib/Either and fp-ts/lib/function, got ${spec}`,
    )
  }),
)
writeFileSync(
  join(vendor, 'fp-ts.d.ts'),
  `// The fp-ts 2 types that io-ts's declarations name, as fp-ts declares them (MIT, (c) Giulio
// Canti: see fp-ts.LICENSE): structurally the same types, without installing fp-ts.
export interface Left<E> {
  readonly _tag: 'Left'
  readonly left: E
}
export interface Right<A> {
  readonly _tag: 'Right'
  readonly right: A
}
export type Either<E, A> = Left<E> | Right<A>
export interface Predicate<A> {
  (a: A): boolean
}
export interface Refinement<A, B extends A> {
  (a: A): a is B
}
`,
)

// dist's own files import the bundle by relative path
for (const file of files) {
  const text = readFileSync(file, 'utf8')
  const out = mapSpecifiers(text, (spec) => {
    if (!bundled.test(spec)) return
    // types: io-ts's, or fp-ts's Either/function ones from the shim (a type it lacks fails the
    // consumer test's type-check, which reads every shipped declaration)
    let target = vendorName(spec)
    if (file.endsWith('.d.ts') && spec !== 'io-ts') {
      if (!/^fp-ts\/lib\/(Either|function)(\.js)?$/.test(spec)) {
        throw new Error(
          `vendor: ${relative(root, file)}: expected types from io-ts, fp-ts/lib/Either or fp-ts/lib/function, got ${spec}`,
        )
      }
      target = 'fp-ts'
    }
    const to = relative(dirname(file), join(vendor, target + '.js'))
      .split(sep)
      .join('/')
    return to.startsWith('.') ? to : './' + to
  })
  if (out !== text) writeFileSync(file, out)
}
