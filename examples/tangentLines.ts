/**
 * The book's §4.3.2: the derivative of f(x) = 0.01x² + 0.1x at x = 5 and x = 10 by central
 * differences, and the tangent lines y = f′(x₀)(x − x₀) + f(x₀) drawn over f.
 *
 *   npm run example:tangent-lines   → prints the slopes, writes examples/out/tangent-lines.svg
 */
import { numericalDiff } from 'gradstream'
import { isMain, plot, writeSvg } from './svg.js'

const f = (x: number) => 0.01 * x ** 2 + 0.1 * x

export function main(outDir?: string): { text: string; slopes: number[]; file: string } {
  const xs = Array.from({ length: 201 }, (_, i) => i / 10)
  const lines: string[] = ['f(x) = 0.01x² + 0.1x', '']
  const slopes: number[] = []
  const series = [{ points: xs.map((x) => [x, f(x)] as const), label: 'f(x)' }]
  for (const x0 of [5, 10]) {
    const d = numericalDiff(f, x0)
    slopes.push(d)
    const tangent = (x: number) => d * (x - x0) + f(x0)
    lines.push(`f′(${x0}) ≈ ${d}   (exactly ${0.02 * x0 + 0.1})`)
    lines.push(`  tangent: y = ${d}·(x − ${x0}) + ${f(x0)}`)
    series.push({ points: xs.map((x) => [x, tangent(x)] as const), label: `tangent at x = ${x0}` })
  }
  const svg = plot({
    title: 'f(x) = 0.01x² + 0.1x and its tangents at 5 and 10',
    xLabel: 'x',
    yLabel: 'f(x)',
    legend: 'top-left',
    x: [0, 20],
    y: [-1, 6],
    series,
  })
  const file = writeSvg('tangent-lines.svg', svg, outDir)
  lines.push('', `wrote ${file}`)
  return { text: lines.join('\n'), slopes, file }
}

if (isMain(import.meta.url)) console.log(main().text)
