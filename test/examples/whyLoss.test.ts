import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../examples/whyLoss.js'

describe('example: why a loss, not accuracy', () => {
  it("accuracy's gradient is zero, the loss's is not; step′ = 0, sigmoid′ > 0", () => {
    const { text, gAcc, gLoss, zeros, file } = main(mkdtempSync(join(tmpdir(), 'gs-ex-')))
    expect(zeros).toBe(6)
    expect([...gAcc].every((v) => v === 0)).toBe(true)
    expect([...gLoss].some((v) => Math.abs(v) > 0.01)).toBe(true)
    expect(text).toContain('x = 2: step′ ≈ 0, sigmoid′ ≈ 0.104994')
    expect(readFileSync(file, 'utf8')).toContain('accuracy')
  })
})
