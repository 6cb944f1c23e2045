import { describe, expect, it } from 'vitest'
import { main } from '../../examples/warmupCosine.js'

describe('example: warmup + cosine + early stopping with a live status line', () => {
  it('fits y = 2x − 1, stops early with a reason, and prints a status every 25 steps', () => {
    const written: string[] = []
    const { final, lines, lr } = main({ status: (l) => void written.push(l) })
    // the data are y = 2x − 1 + N(0, 0.1²) noise on 200 points: the fit lands near (2, −1)
    expect(Math.abs(final.params.w - 2)).toBeLessThan(0.05)
    expect(Math.abs(final.params.b + 1)).toBeLessThan(0.05)
    expect(final.stopReason).toBeDefined()
    expect(['earlyStopping', 'maxSteps']).toContain(final.stopReason!.rule)
    expect(lines[0]).toMatch(/^step {4}0 {2}loss NaN {2}lr NaN/)
    expect(written.slice(0, lines.length)).toEqual(lines)
    expect(written.at(-1)).toContain('stopped at step')
    // the schedule: 0 → 0.1 over 50 steps, then cosine to 0 over the remaining 950
    expect(lr(0)).toBe(0)
    expect(lr(25)).toBe(0.05)
    expect(lr(50)).toBe(0.1)
    expect(lr(1000)).toBe(0)
  })
})
