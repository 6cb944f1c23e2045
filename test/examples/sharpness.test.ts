import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../examples/sharpness.js'

describe('example: sharpness', () => {
  it('trains SGD, SAM-SGD and schedule-free SGD on a subset, test accuracy per epoch, one SVG', () => {
    // the --quick run: 2,000 images, 2 epochs of 20 steps (the full run: 5 epochs of 60,000)
    const { lines, acc, file } = main({
      trainSize: 2000,
      testSize: 1000,
      epochs: 2,
      dir: mkdtempSync(join(tmpdir(), 'gs-ex-')),
    })
    expect(Object.keys(acc)).toEqual(['SGD', 'SAM-SGD (ρ 0.05)', 'schedule-free SGD'])
    for (const a of Object.values(acc)) {
      expect(a).toHaveLength(3) // epochs 0, 1, 2
      for (const v of a) (expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(1))
    }
    // all three start from the same weights: the same accuracy before the first step
    expect(new Set(Object.values(acc).map((a) => a[0])).size).toBe(1)
    for (const l of lines) expect(l).toMatch(/ test acc by epoch: 0\.\d{4} 0\.\d{4}$/)
    const svg = readFileSync(file, 'utf8')
    expect(svg.match(/<polyline/g)?.length).toBe(3)
    for (const name of Object.keys(acc)) expect(svg).toContain(name)
  })
})
