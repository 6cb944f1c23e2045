import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../examples/tangentLines.js'

describe('example: tangent lines', () => {
  it('prints the book slopes and writes an SVG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-ex-'))
    const { text, slopes, file } = main(dir)
    expect(slopes).toEqual([0.1999999999990898, 0.2999999999986347])
    expect(text).toContain('f′(5) ≈ 0.1999999999990898')
    expect(readFileSync(file, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/)
  })

  it('runs from its npm script command (tsx)', () => {
    const out = execFileSync('npx', ['tsx', 'examples/tangentLines.ts'], { encoding: 'utf8' })
    expect(out).toContain('f′(10) ≈ 0.2999999999986347')
    expect(out).toContain('tangent-lines.svg')
  })
})
