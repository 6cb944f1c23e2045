import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { TRAIN_STATE_FIELDS } from '../../src/engine/state.js'
import { trainStateFieldCodecs } from '../../src/state/codecs.js'

// The TrainState's field list is written once, in src/engine/state.ts (the literal every state
// is built from), beside its codec in src/state/codecs.ts (which checks what a checkpoint holds).
// This test fails when a third copy appears: an object literal (or a table) naming 9 or more of the 11
// fields, one per line, anywhere else in src/ or operators/.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const allowed = ['src/engine/state.ts', 'src/state/codecs.ts']

function sources(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(p))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

/** Lines where a run of ≥ 9 distinct TrainState field keys (`name:` or `name,`) starts. */
export function copiesOfFieldList(text: string): number[] {
  const key = new RegExp(`^\\s*(${TRAIN_STATE_FIELDS.join('|')})\\s*[:,]`)
  const lines = text.split('\n')
  const out: number[] = []
  for (let i = 0; i < lines.length; i++) {
    const seen = new Set<string>()
    for (let j = i; j < Math.min(lines.length, i + 16); j++) {
      const m = key.exec(lines[j])
      if (m !== null) seen.add(m[1])
    }
    if (seen.size >= 9 && key.test(lines[i])) {
      out.push(i + 1)
      i += 15
    }
  }
  return out
}

describe('the TrainState field list', () => {
  it('is the codec’s list, in its order', () => {
    expect([...TRAIN_STATE_FIELDS]).toEqual(Object.keys(trainStateFieldCodecs))
  })

  it('the detector finds a hand-written state literal', () => {
    const literal = TRAIN_STATE_FIELDS.map((f) => `    ${f}: s.${f},`).join('\n')
    expect(copiesOfFieldList(`return {\n${literal}\n}`)).toEqual([2])
    expect(copiesOfFieldList('const x = { step: 1, loss: 2 }')).toEqual([])
  })

  it('is spelled nowhere else in src/ or operators/', () => {
    const found: string[] = []
    for (const f of [...sources(join(root, 'src')), ...sources(join(root, 'operators'))]) {
      const rel = relative(root, f)
      if (allowed.includes(rel)) continue
      for (const line of copiesOfFieldList(readFileSync(f, 'utf8'))) found.push(`${rel}:${line}`)
    }
    expect(found).toEqual([])
  })
})
