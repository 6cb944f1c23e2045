import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { format } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'

// Every transform's and optimizer's @example is a complete program: this test extracts it,
// runs it, and checks that each `console.log(…)` line prints what its trailing `// …` comment
// says (node's util.format of the arguments, as console.log prints them).

const root = fileURLToPath(new URL('../../', import.meta.url))
const outDir = join(root, 'test-results', 'doc-examples')

function examples(folder: string) {
  const dir = join(root, 'operators', folder)
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('Internals.ts'))
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8')
      const m = /\* @example\n \* ```ts\n([\s\S]*?)\n \* ```\n/.exec(text)
      const code = m?.[1].replace(/^ \*( |$)/gm, '') ?? ''
      return { name: `${folder}/${f}`, file: `${folder}_${f}`, code }
    })
}

const all = [...examples('transforms'), ...examples('optimizers')]

describe('doc examples of operators/transforms and operators/optimizers', () => {
  afterEach(() => vi.restoreAllMocks())

  it('every public file has one', () => {
    expect(all.length).toBe(27)
    for (const e of all) expect(e.code, e.name).toContain('console.log(')
  })

  it.each(all)('$name: runs and prints what its comments say', async ({ file, code }) => {
    const expected = code
      .split('\n')
      .filter((l) => l.includes('console.log('))
      .map((l) => /\/\/ (.*)$/.exec(l)?.[1])
    expect(expected.every((e) => e !== undefined)).toBe(true)
    mkdirSync(outDir, { recursive: true })
    const path = join(outDir, file)
    writeFileSync(path, code)
    const printed: string[] = []
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(format(...args))
    })
    await import(pathToFileURL(path).href)
    expect(printed).toEqual(expected)
  })
})
