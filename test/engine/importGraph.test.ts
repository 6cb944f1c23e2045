import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The layering DESIGN.md promises, checked on the sources: src/ (the core and its engine) never
// imports operators/ (the catalogue), and no module of src/ or operators/ reaches itself again
// through its imports (type-only imports count: a reader follows them too).

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function sources(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(p))
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** Relative imports of a file (static, re-exports, dynamic), as repo-relative .ts paths. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm
  for (const m of text.matchAll(re)) {
    const target = resolve(dirname(file), m[2].replace(/\.js$/, '.ts'))
    out.push(relative(root, target))
  }
  return out
}

/** The graph of src/ and operators/: file → files it imports. */
function graph(): Map<string, string[]> {
  const files = [...sources(join(root, 'src')), ...sources(join(root, 'operators'))]
  return new Map(files.map((f) => [relative(root, f), importsOf(f)]))
}

/** Strongly connected components with more than one file (or a file importing itself). */
function cycles(g: Map<string, string[]>): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop()!
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort())
    }
  }
  for (const v of g.keys()) if (!idx.has(v)) visit(v)
  return out
}

describe('the import graph', () => {
  const g = graph()

  it('finds the files and their imports (the walker itself works)', () => {
    expect(g.get('src/train.ts')).toContain('src/engine/fusion.ts')
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['a']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b']])
  })

  it('src/ never imports operators/ (but for the two applications built on the catalogue)', () => {
    // the CLI (`gradstream train-mnist`) and the book's `gradientDescent` are programs written
    // with the operators, as a user's would be; nothing else in src/ may reach for them
    const applications = ['src/cli/', 'src/gradientDescent.ts']
    const core = (f: string) => f.startsWith('src/') && !applications.some((a) => f.startsWith(a))
    const bad = [...g].flatMap(([f, is]) =>
      core(f) ? is.filter((i) => i.startsWith('operators/')).map((i) => `${f} → ${i}`) : [],
    )
    expect(bad).toEqual([])
    expect(g.get('src/train.ts')!.filter((i) => !i.startsWith('src/'))).toEqual([])
  })

  it('the engine imports nothing outside src/', () => {
    const bad = [...g].flatMap(([f, is]) =>
      f.startsWith('src/engine/')
        ? is.filter((i) => !i.startsWith('src/')).map((i) => `${f} → ${i}`)
        : [],
    )
    expect(bad).toEqual([])
  })

  it('has no import circle in src/ or operators/', () => {
    expect(cycles(g)).toEqual([])
  })

  it('no entry point exports from an *Internals.ts file (internals hold no public type)', () => {
    const entries = ['src/index.ts', 'src/node.ts', 'operators/index.ts']
    const bad = entries.flatMap((e) =>
      (g.get(e) ?? []).filter((i) => /Internals\.ts$/.test(i)).map((i) => `${e} → ${i}`),
    )
    expect(bad).toEqual([])
  })

  it('no *Internals.ts file declares a type an entry point exports (not even through a re-export)', () => {
    const entries = ['src/index.ts', 'src/node.ts', 'operators/index.ts']
    const exported = new Set(
      entries.flatMap((e) =>
        [...readFileSync(join(root, e), 'utf8').matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)]
          .flatMap((m) => m[1].split(','))
          .map(
            (n) =>
              n
                .trim()
                .replace(/^type\s+/, '')
                .split(/\s+as\s+/)
                .pop() ?? '',
          )
          .filter((n) => n !== ''),
      ),
    )
    const bad = [...g.keys()]
      .filter((f) => /Internals\.ts$/.test(f))
      .flatMap((f) =>
        [...readFileSync(join(root, f), 'utf8').matchAll(/^export\s+(?:interface|type)\s+(\w+)/gm)]
          .map((m) => m[1])
          .filter((n) => exported.has(n))
          .map((n) => `${f}: ${n}`),
      )
    expect(exported.size).toBeGreaterThan(200) // the parser found the entries' names
    expect(bad).toEqual([])
  })
})
