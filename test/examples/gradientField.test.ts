import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../examples/gradientField.js'

describe('example: gradient field', () => {
  it('prints the book gradients and gradient descent results, and draws the field', () => {
    const { text, results, file } = main(mkdtempSync(join(tmpdir(), 'gs-ex-')))
    expect(text).toContain('∇f(3, 4) ≈ (6.00000000000378, 7.999999999999119)')
    expect(text).toContain('∇f(0, 2) ≈ (0, 4.000000000004)')
    // the book's gradient_descent(function_2, init_x=np.array([-3.0, 4.0]), lr, step_num=100)
    // printed with .tolist() (python3, numpy 2.4): the same arithmetic, bit for bit
    expect(results['0.1']).toEqual([-6.111107928998789e-10, 8.148143905314271e-10])
    expect(results['10']).toEqual([-25898374737328.363, -1295248616896.5398])
    expect(results['1e-10']).toEqual([-2.999999939999995, 3.9999999199999934])
    const svg = readFileSync(file, 'utf8')
    expect(svg.match(/marker-end/g)?.length).toBe(19 * 19)
  })
})
