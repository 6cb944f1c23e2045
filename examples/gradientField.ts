/**
 * The book's §4.4: the gradient of f(x0, x1) = x0² + x1² by central differences at the points
 * the book prints, the field of −∇f drawn as arrows (they all point to the minimum at the
 * origin), and gradient descent from (−3, 4) with learning rates 0.1, 10 and 1e-10.
 *
 *   npm run example:gradient-field   → prints, writes examples/out/gradient-field.svg
 */
import { numericalGradient } from 'gradstream'
import { type Arrow, isMain, plot, writeSvg } from './svg.js'

const f2 = (x: readonly number[]) => x[0] ** 2 + x[1] ** 2

/** The book's gradient_descent: x ← x − lr·∇f(x), step_num times. */
export function gradientDescent(init: readonly number[], lr: number, steps = 100): number[][] {
  const path = [[...init]]
  let x = [...init]
  for (let i = 0; i < steps; i++) {
    const g = numericalGradient(f2, x)
    x = x.map((xi, k) => xi - lr * g[k])
    path.push(x)
  }
  return path
}

export function main(outDir?: string) {
  const lines: string[] = ['f(x0, x1) = x0² + x1²', '']
  for (const p of [
    [3, 4],
    [0, 2],
    [3, 0],
  ]) {
    lines.push(`∇f(${p.join(', ')}) ≈ (${numericalGradient(f2, p).join(', ')})`)
  }
  const arrows: Arrow[] = []
  const scale = 0.05 // arrow length per unit of gradient, as the book's quiver plot
  for (let i = -8; i <= 10; i++) {
    for (let j = -8; j <= 10; j++) {
      const p = [i / 4, j / 4]
      const g = numericalGradient(f2, p)
      arrows.push({
        from: [p[0], p[1]],
        to: [p[0] - scale * g[0], p[1] - scale * g[1]],
        color: '#555',
      })
    }
  }
  lines.push('', 'gradient descent from (−3, 4), 100 steps:')
  const results: Record<string, number[]> = {}
  for (const lr of [0.1, 10, 1e-10]) {
    const path = gradientDescent([-3, 4], lr)
    results[String(lr)] = path[path.length - 1]
    lines.push(`  lr = ${lr}: (${path[path.length - 1].join(', ')})`)
  }
  const descent = gradientDescent([-3, 4], 0.1, 20)
  const svg = plot({
    title: '−∇(x0² + x1²) and gradient descent (lr = 0.1) from (−3, 4)',
    xLabel: 'x0',
    yLabel: 'x1',
    width: 560,
    height: 520,
    x: [-3.5, 3],
    y: [-2.5, 4.5],
    arrows,
    series: [
      {
        points: descent.map((p) => [p[0], p[1]] as const),
        label: 'descent path',
        style: 'points',
        color: '#d62728',
      },
    ],
  })
  const file = writeSvg('gradient-field.svg', svg, outDir)
  lines.push('', `wrote ${file}`)
  return { text: lines.join('\n'), results, file }
}

if (isMain(import.meta.url)) console.log(main().text)
