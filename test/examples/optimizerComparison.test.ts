import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../examples/optimizerComparison.js'

describe('example: optimizer comparison', () => {
  it("prints the four final points (the book's, see bookComparison.test.ts) and draws one SVG", () => {
    const { text, paths, file } = main(mkdtempSync(join(tmpdir(), 'gs-ex-')))
    // python3 bench/reference/book_optimizer_compare.py: SGD final -0.3503929957523197 0.0847823165504322
    expect(text).toContain('SGD      final (-0.3503929957523197, 0.0847823165504322)')
    expect(text).toContain('Momentum final (0.896413858493733, 0.08808560171506971)')
    expect(Object.keys(paths)).toEqual(['SGD', 'Momentum', 'AdaGrad', 'Adam'])
    for (const p of Object.values(paths)) expect(p).toHaveLength(31)
    const svg = readFileSync(file, 'utf8')
    // 7 contours + 4 paths drawn as polylines, and a legend entry per optimizer
    expect(svg.match(/<polyline/g)?.length).toBe(11)
    for (const name of ['SGD', 'Momentum', 'AdaGrad', 'Adam']) expect(svg).toContain(`>${name}<`)
  })
})
