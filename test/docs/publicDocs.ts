import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

// Reads the public surface the way a user meets it: every name exported from src/index.ts and
// operators/index.ts, followed through `export { x } from './path.js'` lines (and index.ts
// files that re-export) to the file that declares it, then the `/** … */` right above that
// declaration and the fenced blocks after each `@example` in it. Plain text, no compiler API:
// the index files are only `export { … } from '…'` lines (STYLE.md), so a regex reads them.

export const root = fileURLToPath(new URL('../../', import.meta.url))

export type DeclKind = 'function' | 'const' | 'class' | 'interface' | 'type' | 'enum' | 'unknown'

export interface Example {
  /** `ts` or `tsx` (the fence's language) */
  readonly lang: 'ts' | 'tsx'
  readonly code: string
}

export interface PublicName {
  /** the exported name */
  readonly name: string
  /** `gradstream`, `gradstream/operators` or `gradstream/node` */
  readonly entry: string
  /** `export type { … }`: nothing to run */
  readonly typeOnly: boolean
  /** declaring file, relative to the repository root (e.g. `src/functions/relu.ts`) */
  readonly file: string
  readonly kind: DeclKind
  /** a `const` whose value is a function (`export const f = (…) =>`): it needs an example */
  readonly callable: boolean
  /** the doc comment's text without the leading ` * `, or undefined when there is none */
  readonly doc: string | undefined
  /** every ```ts / ```tsx block that follows an `@example` tag */
  readonly examples: readonly Example[]
}

interface ExportLine {
  readonly names: readonly { readonly name: string; readonly typeOnly: boolean }[]
  readonly from: string
}

function exportLines(file: string): ExportLine[] {
  const text = readFileSync(file, 'utf8')
  const lines: ExportLine[] = []
  for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    const typeOnly = m[1] !== undefined
    const names = m[2]
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((s) => {
        const inlineType = s.startsWith('type ')
        const bare = inlineType ? s.slice(5).trim() : s
        if (/\sas\s/.test(bare)) throw new Error(`${file}: renamed export ${s} is not supported`)
        return { name: bare, typeOnly: typeOnly || inlineType }
      })
    lines.push({ names, from: m[3] })
  }
  return lines
}

function sourceOf(fromFile: string, spec: string): string {
  const ts = join(dirname(fromFile), spec.replace(/\.js$/, '.ts'))
  if (!existsSync(ts)) throw new Error(`${fromFile}: cannot find ${spec}`)
  return ts
}

/** The file that declares `name`, following files that re-export it. */
function declaringFile(file: string, name: string): string {
  for (const line of exportLines(file)) {
    if (line.names.some((n) => n.name === name)) {
      return declaringFile(sourceOf(file, line.from), name)
    }
  }
  return file
}

const declaration = (name: string) =>
  new RegExp(
    String.raw`^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?` +
      String.raw`(function\*?|const|let|class|interface|type|enum)\s+${name}\b`,
    'm',
  )

/** The doc comment ending right above `index` (only whitespace between), as plain text. */
function docAbove(text: string, index: number): string | undefined {
  const before = text.slice(0, index).trimEnd()
  if (!before.endsWith('*/')) return undefined
  const start = before.lastIndexOf('/**')
  if (start < 0) return undefined
  return before
    .slice(start + 3, before.length - 2)
    .split('\n')
    .map((l) => l.replace(/^\s*\*( |$)/, ''))
    .join('\n')
    .trim()
}

/** Each ```ts / ```tsx block after an `@example` tag, up to the next tag. */
export function examplesIn(doc: string): Example[] {
  const out: Example[] = []
  for (const part of doc.split(/^@example\b.*$/m).slice(1)) {
    const upToNextTag = part.split(/^@(?!example)\w+/m)[0]
    for (const m of upToNextTag.matchAll(/^```(ts|tsx|typescript)[ \t]*\n([\s\S]*?)^```/gm)) {
      out.push({ lang: m[1] === 'tsx' ? 'tsx' : 'ts', code: m[2].replace(/\s+$/, '') + '\n' })
    }
  }
  return out
}

// `export const f = (…) =>`, `= async (…) =>`, `= <T>(…) =>`, `= function`, `: T = (…) =>`
const functionValue =
  /^\s*(?::[^=]*)?=\s*(?:async\s+)?(?:function\b|(?:<[^>]*>\s*)?\([^)]*\)\s*(?::[^=]*)?=>|\w+\s*=>)/

function describeName(name: string, typeOnly: boolean, entry: string, file: string): PublicName {
  const text = readFileSync(file, 'utf8')
  const rel = relative(root, file)
  const m = declaration(name).exec(text)
  if (!m) {
    return {
      name,
      entry,
      typeOnly,
      file: rel,
      kind: 'unknown',
      callable: false,
      doc: undefined,
      examples: [],
    }
  }
  const kind: DeclKind = m[1].startsWith('function')
    ? 'function'
    : m[1] === 'let'
      ? 'const'
      : (m[1] as DeclKind)
  const doc = docAbove(text, m.index)
  const after = text.slice(m.index + m[0].length, m.index + m[0].length + 400)
  return {
    name,
    entry,
    typeOnly,
    file: rel,
    kind,
    callable: kind === 'const' && functionValue.test(after),
    doc,
    examples: doc === undefined ? [] : examplesIn(doc),
  }
}

/** Every public name of the three entry points, in index order. */
export function publicNames(): PublicName[] {
  const entries = [
    { entry: 'gradstream', index: join(root, 'src', 'index.ts') },
    { entry: 'gradstream/operators', index: join(root, 'operators', 'index.ts') },
    { entry: 'gradstream/node', index: join(root, 'src', 'node.ts') },
  ]
  const out: PublicName[] = []
  for (const { entry, index } of entries) {
    for (const line of exportLines(index)) {
      const target = sourceOf(index, line.from)
      for (const { name, typeOnly } of line.names) {
        out.push(describeName(name, typeOnly, entry, declaringFile(target, name)))
      }
    }
  }
  return out
}

/** A name that must show a runnable example: a function, a function-valued const, a class. */
export const needsExample = (n: PublicName): boolean =>
  !n.typeOnly && (n.kind === 'function' || n.kind === 'class' || n.callable)

/**
 * The claims an example makes about what it prints: a `// → text` comment on line L (1-based)
 * speaks for the nearest `console.log(` at or above L, and says what that call prints
 * (several calls from one line, e.g. in a `subscribe`, are joined with `, `).
 */
export function claimsIn(code: string): { line: number; claim: string }[] {
  const lines = code.split('\n')
  const out: { line: number; claim: string }[] = []
  lines.forEach((text, i) => {
    const m = /\/\/\s*→\s*(.*)$/.exec(text)
    if (!m) return
    let j = i
    while (j >= 0 && !lines[j].includes('console.log(')) j--
    out.push({ line: j + 1, claim: m[1].trim() })
  })
  return out
}
