// The book's gradient method (ch. 4.4.1, gradient_method.py): descend f(x0, x1) = x0² + x1² from
// (−3, 4) with lr 0.1 for 20 steps, and draw the path over the function's level sets, as the
// book's Figure 4-10 does. `npm run example:gradient-method` writes
// examples/out/gradient-method.svg and prints the path.
import { tensor, gradientDescent, type Tensor } from 'gradstream'
import { history } from 'gradstream/operators'
import { isMain, plot, writeSvg } from './svg.js'

/** The book's function_2. */
const function2 = (x: Tensor) => x.data[0] ** 2 + x.data[1] ** 2

/** Runs the descent; returns the path (x₀ … x₂₀), the SVG's path and a printable summary. */
export function main({ lr = 0.1, stepNum = 20, write = true } = {}) {
  let path: Tensor[] = []
  gradientDescent(function2, tensor([-3, 4]), { lr, stepNum })
    .pipe(history())
    .subscribe((p) => (path = p))
  const points = path.map((p) => [p.data[0], p.data[1]] as const)
  const circle = (r: number) =>
    Array.from({ length: 73 }, (_, k) => {
      const a = (k / 72) * 2 * Math.PI
      return [r * Math.cos(a), r * Math.sin(a)] as const
    })
  const svg = plot({
    title: `gradient method on x0² + x1², lr ${lr}, ${stepNum} steps`,
    xLabel: 'x0',
    yLabel: 'x1',
    x: [-4, 4],
    y: [-5, 5],
    series: [
      ...[1, 2, 3, 4, 5].map((r) => ({ points: circle(r), color: '#bbbbbb', dashed: true })),
      { points, label: 'x_history', style: 'points' as const, color: '#1f77b4' },
      { points, color: '#1f77b4' },
    ],
  })
  const file = write ? writeSvg('gradient-method.svg', svg) : null
  const last = points[points.length - 1]
  const text = [
    `start (${points[0].join(', ')}), ${stepNum} steps of lr ${lr}`,
    `end   (${last.join(', ')})`,
    file ? `path drawn in ${file}` : '',
  ]
    .filter(Boolean)
    .join('\n')
  return { path: points, svg, file, text }
}

if (isMain(import.meta.url)) console.log(main().text)
