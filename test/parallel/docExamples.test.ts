import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { closeWorkers, getKernelThreads, setKernelThreads } from 'gradstream'

// Every public src/parallel function's @example is a complete program (top-level await
// included): this test extracts each one and runs it, so none can rot. They print nothing; a
// failure is a throw (or a thread left running, which the file's teardown would show).

const root = fileURLToPath(new URL('../../', import.meta.url))
const dir = join(root, 'src', 'parallel')
const outDir = join(root, 'test-results', 'doc-examples')

// the files src/index.ts exports from: the public ones
const publicFiles = [
  ...new Set(
    [
      ...readFileSync(join(root, 'src', 'index.ts'), 'utf8').matchAll(
        /from '\.\/parallel\/(\w+)\.js'/g,
      ),
    ].map((m) => `${m[1]}.ts`),
  ),
]

const all = publicFiles.map((f) => {
  const m = /\* @example\n \* ```ts\n([\s\S]*?)\n \* ```\n/.exec(readFileSync(join(dir, f), 'utf8'))
  return { name: f, code: m?.[1].replace(/^ \*( |$)/gm, '') ?? '' }
})

describe('doc examples of src/parallel', () => {
  afterAll(async () => {
    setKernelThreads(1)
    await closeWorkers()
  })

  it('every public file has one', () => {
    const names = all.map((e) => e.name)
    for (const f of [
      'closeWorkers.ts',
      'getKernelThreads.ts',
      'setKernelThreads.ts',
      'twoLayerNetNumericalGradientParallel.ts',
    ]) {
      expect(names).toContain(f)
    }
    for (const e of all) expect(e.code, e.name).toContain("from 'gradstream'")
  })

  it.each(all)('$name: runs', async ({ name, code }) => {
    mkdirSync(outDir, { recursive: true })
    const path = join(outDir, `parallel_${name}`)
    writeFileSync(path, code)
    await import(pathToFileURL(path).href)
    // an example that turns two threads on turns them off again
    expect(getKernelThreads()).toBe(1)
  })
})
