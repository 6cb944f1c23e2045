import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../examples/stepSize.js'

describe('example: step size', () => {
  it('tabulates h = 1e-1 … 1e-50 and shows where each difference breaks down', () => {
    const { text, rows, file } = main(mkdtempSync(join(tmpdir(), 'gs-ex-')))
    expect(rows).toHaveLength(50)
    expect(rows[0].h).toBe(0.1)
    expect(rows[49].h).toBe(1e-50)
    // at 1e-50, 1 + h === 1: both differences are exactly 0, so the error is e itself
    expect(rows[49].central).toBe(Math.E)
    expect(rows[49].forward).toBe(Math.E)
    // truncation regime: forward error ≈ h·e/2, central ≈ h²·e/6 (to the next Taylor term)
    expect(rows[1].forward / ((0.01 * Math.E) / 2)).toBeCloseTo(1, 1)
    expect(rows[1].central / ((1e-4 * Math.E) / 6)).toBeCloseTo(1, 3)
    // the central optimum is near h = ε^(1/3) ≈ 1e-5, the forward one near √ε ≈ 1e-8
    const argmin = (k: 'forward' | 'central') => rows.reduce((a, b) => (b[k] < a[k] ? b : a)).h
    expect(Math.abs(Math.log10(argmin('central')) + 5)).toBeLessThanOrEqual(2)
    expect(Math.abs(Math.log10(argmin('forward')) + 8)).toBeLessThanOrEqual(1)
    expect(text).toContain('numericalDiff(0.01x² + 0.1x, 5, { h: 1e-50 }) = 0')
    expect(readFileSync(file, 'utf8')).toContain('<polyline')
  })
})
