import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

/**
 * A fresh project with gradstream installed from its packed tarball, offline: the project's
 * lock file is written from gradstream's own (same versions and integrity hashes as the
 * repository's `npm ci` put in npm's cache), so `npm ci --offline` installs exactly the
 * production closure of gradstream plus its peer rxjs, without the registry.
 */

export const root = resolve(import.meta.dirname, '../..')

type LockEntry = {
  version: string
  integrity?: string
  resolved?: string
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  [k: string]: unknown
}

const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** What `npm pack` made. */
export interface Packed {
  readonly tarball: string
  /** the tarball's bytes */
  readonly size: number
  /** paths inside the package */
  readonly files: readonly string[]
  /** the fresh copy of the repository it was packed from (built by `prepare`) */
  readonly clone: string
}

/**
 * `npm pack` as on a fresh clone: the package's sources (no dist/) copied into `dir/clone`
 * with the repository's node_modules linked in, packed there, so `prepare` builds dist/ from
 * nothing and the repository's own dist/ is never touched. `from`: another checkout's sources
 * (bench/installedPackage.ts compares two).
 */
export function pack(dir: string, from = root): Packed {
  const clone = join(dir, 'clone')
  mkdirSync(clone)
  const sources = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']
  for (const f of [...sources, 'README.md', 'bin', 'src', 'operators']) {
    if (existsSync(join(from, f))) cpSync(join(from, f), join(clone, f), { recursive: true })
  }
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'))
  const out = run('npm', ['pack', '--json', '--pack-destination', dir], clone)
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as {
    filename: string
    size: number
    files: { path: string }[]
  }[]
  return {
    tarball: join(dir, basename(info.filename)),
    size: info.size,
    files: info.files.map((f) => f.path),
    clone,
  }
}

/** Installs the tarball into a new temporary project: the project's folder. */
export function installConsumer(tarball: string): string {
  const dir = join(dirname(tarball), 'consumer')
  mkdirSync(dir)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as LockEntry & {
    name: string
    bin?: Record<string, string>
    engines?: Record<string, string>
    license?: string
  }
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>
  }
  const rxjs = lock.packages['node_modules/rxjs'].version
  const file = `file:${basename(tarball)}`
  const integrity = 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64')

  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { gradstream: file, rxjs } },
    'node_modules/gradstream': {
      version: pkg.version,
      resolved: file,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
      peerDependencies: pkg.peerDependencies,
      peerDependenciesMeta: pkg.peerDependenciesMeta,
    },
  }
  // the production closure: dependencies and required peers, as the repository's lock has them
  const todo = [...Object.keys(pkg.dependencies ?? {}), 'rxjs']
  while (todo.length > 0) {
    const name = todo.pop()!
    if (packages[`node_modules/${name}`]) continue
    const entry = lock.packages[`node_modules/${name}`]
    if (!entry) throw new Error(`consumer: ${name}: expected in package-lock.json, got none`)
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry
    packages[`node_modules/${name}`] = kept
    const required = Object.keys(entry.peerDependencies ?? {}).filter(
      (p) => !entry.peerDependenciesMeta?.[p]?.optional,
    )
    todo.push(...Object.keys(entry.dependencies ?? {}), ...required)
  }

  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { gradstream: file, rxjs },
    }),
  )
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2),
  )
  run('cp', [tarball, dir], dir)
  run('npm', ['ci', '--offline', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], dir)
  return dir
}

/** Bytes under `dir` (du's apparent size), without following links. */
export function bytesUnder(dir: string): number {
  return Number(run('du', ['-sb', dir], dir).split('\t')[0])
}
