import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { main } from '../../examples/gradientMethod.js'

describe('example: gradient method with its path as SVG', () => {
  it("draws the book's 20-step path, ending at the book's numbers", () => {
    const { path, svg, text } = main({ write: false })
    expect(path).toHaveLength(21)
    expect(path[0]).toEqual([-3, 4])
    // the book (ch. 4, lr 0.1, step_num 20)
    expect(path[20]).toEqual([-0.03458764513817675, 0.04611686018418694])
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('x_history')
    expect(text).toContain('end   (-0.03458764513817675, 0.04611686018418694)')
  })

  it('runs as a script (npm run example:gradient-method) and writes examples/out/gradient-method.svg', () => {
    const out = execFileSync('npx', ['tsx', 'examples/gradientMethod.ts'], { encoding: 'utf8' })
    expect(out).toContain('path drawn in')
    expect(readFileSync('examples/out/gradient-method.svg', 'utf8')).toContain('</svg>')
  })
})
